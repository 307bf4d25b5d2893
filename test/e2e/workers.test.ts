/**
 * Cooperating workers (issue 4, SPEC §4): several real `statesync` processes
 * share one SQLite database, merge their partial state, and publish every
 * window exactly once; checked against independent counts, the publication
 * log (`watch`), `status`, and the database itself.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { killSweep } from './kill-sweep.js';
import {
  addCounts,
  bytesReadBy,
  clusterStatus,
  collect,
  committedOffset,
  countDifferences,
  countKeys,
  duplicatedWindowKeys,
  feedPaced,
  generateWordCorpus,
  integrityCheck,
  parseJsonLines,
  peekDb,
  processState,
  publishedWindows,
  queryTotals,
  runCli,
  runCliOk,
  seededRandom,
  sleep,
  spawnCli,
  sumByKey,
  textOf,
  total,
  useTempDir,
  waitFor,
  waitUntilHandled,
  watchRows,
  wordCounts,
  type JsonRow,
  type PublishedWindow,
  expectExit,
} from './helpers.js';

const tmp = useTempDir('workers');

// ---------------------------------------------------------------------------
// Small readers over the database and the CLI
// ---------------------------------------------------------------------------

interface WorkerRow {
  readonly worker_id: string;
  readonly job: string;
  readonly pid: number;
  readonly state: 'running' | 'finished' | 'dead';
  readonly watermark: number | null;
  readonly idle: number;
  readonly heartbeat_at: number;
  readonly started_at: number;
  readonly ended_at: number | null;
}

function workerRows(db: string): WorkerRow[] | undefined {
  return peekDb(db, (d) => d.prepare('SELECT * FROM workers ORDER BY started_at, worker_id').all() as WorkerRow[]);
}

/** Waits until at least `count` workers of the job are registered and running. */
async function waitForRunning(db: string, job: string, count: number, timeoutMs = 15_000): Promise<WorkerRow[]> {
  return waitFor(
    `${count} running workers of job ${job}`,
    () => {
      const rows = workerRows(db)?.filter((w) => w.job === job && w.state === 'running');
      return rows !== undefined && rows.length >= count ? rows : undefined;
    },
    timeoutMs,
    20,
  );
}

/** Published windows of one job in seq order, from the results table. */
async function published(db: string, job: string): Promise<PublishedWindow[]> {
  return (await publishedWindows(db)).filter((w) => w.job === job);
}

/** Groups consecutive watch rows into windows: the order the log printed them in. */
function windowsInOrder(rows: readonly JsonRow[]): Array<{ job: string; start: string; rows: number }> {
  const out: Array<{ job: string; start: string; rows: number }> = [];
  for (const row of rows) {
    const last = out[out.length - 1];
    if (last !== undefined && last.job === row.job && last.start === row.window_start) last.rows++;
    else out.push({ job: row.job, start: row.window_start, rows: 1 });
  }
  return out;
}

/** The rows of the JSON publication log entry, as [key, value] pairs. */
function logRows(w: PublishedWindow): Array<[string, number]> {
  return JSON.parse(w.rows) as Array<[string, number]>;
}

function sortedRows(rows: readonly JsonRow[]): string[] {
  return rows.map((r) => `${r.job}|${r.window_start}|${r.window_end}|${r.key}|${r.value}`).sort();
}

// ---------------------------------------------------------------------------
// 0. Start-up: several workers on a database that does not exist yet
// ---------------------------------------------------------------------------

describe('workers started at once on a new database', () => {
  it('all start, register and count (no migration race)', async () => {
    for (let round = 0; round < 3; round++) {
      const db = tmp.path(`fresh-${round}.db`);
      const children = [0, 1, 2].map(() => spawnCli(['count', '--db', db, '--window', '1d', '--quiet']));
      const done = children.map((c) => collect(c, 20_000));
      // Input only once every one of them is up (or has died), so none finishes before another registers.
      await waitFor(
        'three registered or exited workers',
        () => {
          const running = workerRows(db)?.filter((w) => w.state === 'running').length ?? 0;
          const exited = children.filter((c) => c.exitCode !== null).length;
          return running + exited >= 3 ? true : undefined;
        },
        15_000,
      );
      for (const c of children) c.stdin.end('a b c\n');
      const results = await Promise.all(done);
      for (const r of results) {
        expectExit(r, 0);
        expect(r.stderr).toBe('');
      }
      const totals = await queryTotals(db);
      expect(Object.fromEntries(totals), `round ${round}`).toEqual({ a: 3, b: 3, c: 3 });
    }
  });
});

// ---------------------------------------------------------------------------
// 1. Three workers, a third of a corpus each
// ---------------------------------------------------------------------------

describe('three workers counting a third of a corpus each', () => {
  it('publish windows while they run; query and watch totals equal an independent count; each window once', async () => {
    const db = tmp.path('three.db');
    const job = 'thirds';
    const random = seededRandom(0x3_0001);
    const parts = [0, 1, 2].map(() => generateWordCorpus(random, 2_500_000, 4000));
    const truth = new Map<string, number>();
    for (let i = 0; i < 3; i++) {
      await writeFile(tmp.path(`third-${i}.txt`), parts[i]!);
      addCounts(truth, wordCounts(parts[i]!.toString('utf8')));
    }
    expect(truth.size).toBe(4000);

    // Each worker reads its third from stdin (a replayable source named after its file), fed at
    // a steady pace so the three really overlap and short windows end while they all run.
    const args = (i: number) => [
      'count',
      '--db',
      db,
      '--job',
      job,
      '--source',
      `third-${i}.txt`,
      '--window',
      '250ms',
      '--commit-interval',
      '50ms',
      '--format',
      'json',
    ];
    const workers: ChildProcessWithoutNullStreams[] = [];
    workers.push(spawnCli(args(0)));
    await waitForRunning(db, job, 1); // the first one creates the database
    workers.push(spawnCli(args(1)), spawnCli(args(2)));
    const done = workers.map((w) => collect(w, 40_000));
    await waitForRunning(db, job, 3);

    // A follower of the publication log, from the start.
    const follower = spawnCli(['watch', '--db', db, '--follow', '--format', 'json', '--job', job]);
    const followed = collect(follower, 40_000);
    const followedSoFar = textOf(follower.stdout);

    const feedStart = Date.now();
    await Promise.all(workers.map((w, i) => feedPaced(w, parts[i]!, { chunkBytes: 48 * 1024, everyMs: 35, end: true })));
    const results = await Promise.all(done);
    for (const r of results) expectExit(r, 0);
    const feedMs = Date.now() - feedStart;

    // The log, straight from the table: seqs 1..n, one row per (job, window).
    const log = await published(db, job);
    expect(log.map((w) => w.seq)).toEqual(log.map((_, i) => i + 1));
    expect(new Set(log.map((w) => w.window_start)).size).toBe(log.length);
    // Several windows were finalized while all three workers were still running, not only at the end.
    const rows = workerRows(db)!.filter((w) => w.job === job);
    expect(rows.map((w) => w.state)).toEqual(['finished', 'finished', 'finished']);
    const firstFinish = Math.min(...rows.map((w) => w.ended_at!));
    const duringRun = log.filter((w) => w.finalized_at < firstFinish);
    expect(duringRun.length, `feed took ${feedMs} ms; ${log.length} windows`).toBeGreaterThanOrEqual(3);
    for (const w of log) expect(w.window_end - w.window_start).toBe(250);

    // watch: every (job, window, key) once, in publication order, totals exact.
    const watched = await watchRows(db, ['--job', job]);
    expect(duplicatedWindowKeys(watched)).toEqual([]);
    expect(windowsInOrder(watched)).toEqual(
      log.map((w) => ({ job, start: new Date(w.window_start).toISOString(), rows: w.row_count })),
    );
    expect(countDifferences(sumByKey(watched), truth)).toEqual([]);
    // Each window's rows are the ones in its log entry.
    const watchedByWindow = new Map<string, string[]>();
    for (const r of watched) {
      const rowsOf = watchedByWindow.get(r.window_start) ?? [];
      rowsOf.push(`${r.key}=${r.value}`);
      watchedByWindow.set(r.window_start, rowsOf);
    }
    for (const w of log) {
      expect(watchedByWindow.get(new Date(w.window_start).toISOString())!.sort()).toEqual(
        logRows(w).map(([k, v]) => `${k}=${v}`).sort(),
      );
    }
    // --from resumes at a seq: exactly the tail of the log.
    const fromSeq = Math.ceil(log.length / 2);
    const tail = await watchRows(db, ['--job', job, '--from', String(fromSeq)]);
    expect(windowsInOrder(tail)).toEqual(windowsInOrder(watched).slice(fromSeq - 1));

    // query: the same totals, nothing left open.
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
    const st = await clusterStatus(db);
    const jobStatus = st.jobs.find((j) => j.job === job)!;
    expect(jobStatus.records).toBe(total(truth));
    expect(jobStatus.late).toBe(0);
    expect(jobStatus.open_windows).toBe(0);
    // The window the last worker ended in had not ended yet: published provisional, for a later run to amend.
    expect(jobStatus.provisional_windows).toBeLessThanOrEqual(1);
    expect(jobStatus.finalized_windows + jobStatus.provisional_windows).toBe(log.length);
    expect(st.published_seq).toBe(log.length);
    expect(st.sources.map((s) => s.offset)).toEqual(parts.map((p) => p.length));
    expect(st.workers.map((w) => w.health)).toEqual(['finished', 'finished', 'finished']);

    // What the workers printed: each window by exactly one of them, together the whole log.
    const printed = results.map((r) => parseJsonLines(r.stdout));
    const printedWindows = printed.flatMap((p) => [...new Set(p.map((r) => r.window_start))]);
    expect(printedWindows.length).toBe(new Set(printedWindows).size);
    expect(sortedRows(printed.flat())).toEqual(sortedRows(watched));

    // The follower saw the same log, in the same order, and stops on SIGINT with 130.
    await waitFor(`the follower to print the ${watched.length} rows of the log`, () =>
      follower.exitCode === null ? followedSoFar().split('\n').length > watched.length : 'exited',
    );
    // Two more polls (200 ms apart) with nothing new to publish: a follower that printed
    // anything twice would show it now. The pause is the check.
    await sleep(450);
    follower.kill('SIGINT');
    const f = await followed;
    expectExit(f, 130);
    expect(parseJsonLines(f.stdout)).toEqual(watched);

    expect(integrityCheck(db)).toBe('ok');
  });
});

// ---------------------------------------------------------------------------
// 2. Kill sweep
// ---------------------------------------------------------------------------

describe('kill sweep: SIGKILL a random worker of three, restart it on its file', () => {
  it('each file resumes from its committed offset; totals exact; database intact', async () => {
    const db = tmp.path('sweep.db');
    const job = 'sweep';
    const random = seededRandom(0x5eed_0002);
    // A long-lived fourth worker of the job on an open stdin (the `tail -F | statesync` of the
    // issue): it keeps the job's windows honest while file workers are killed and restarted, so
    // no worker ever finishes as the "last one" while a killed one is on its way back. Without
    // it, that finish would publish the current processing-time window early and the restarted
    // worker's records in it would be late: see the next describe block.
    const anchorArgs = ['count', '--db', db, '--job', job, '--window', '100ms', '--commit-interval', '50ms', '--quiet'];
    const anchor = spawnCli(anchorArgs);
    const anchorDone = collect(anchor, 60_000);
    await waitForRunning(db, job, 1);

    // One thread: the 1 MiB reads are then the commit points. With more, a batch can take most of a
    // file (threads.test.ts has its own kill sweep).
    const { files, truth, kills, killedAt, killedPids } = await killSweep({
      tmp,
      random,
      // 24 MB texts: offsets move in 1 MiB chunks, so a run has about twenty mid-file commit points.
      bytes: 24_000_000,
      args: (file) => ['count', file, '--db', db, '--job', job, '--window', '100ms', '--commit-interval', '10ms', '--quiet', '--threads', '1'],
      snapshot: () =>
        peekDb(db, (d) =>
          d.transaction(() => ({
            records: d.prepare('SELECT records FROM jobs WHERE job = ?').pluck().get(job) as number,
            offsets: d.prepare('SELECT source, offset FROM sources WHERE job = ? AND kind = ?').all(job, 'file') as Array<{ source: string; offset: number }>,
          }))(),
        ),
      kills: 8,
      deadlineMs: 25_000,
      jitterMs: 30,
    });
    expect(kills, 'kills').toBeGreaterThanOrEqual(5);
    // Several kills landed in the middle of a file, after that run had committed progress of its own.
    expect(killedAt.length, `mid-file kill offsets ${killedAt.join(', ')}`).toBeGreaterThanOrEqual(3);
    console.info(`kill sweep: ${kills} kills, ${killedAt.length} mid-file after progress, ${files.length} files`);
    anchor.stdin.end();
    expectExit(await anchorDone, 0);

    const st = await clusterStatus(db);
    const jobStatus = st.jobs.find((j) => j.job === job)!;
    expect(jobStatus.records).toBe(total(truth));
    expect(jobStatus.late).toBe(0);
    expect(jobStatus.rejected).toBe(0);
    expect(jobStatus.open_windows).toBe(0);
    // Every run killed mid-file is dead; every other run finished (a kill may land just after a
    // run marked itself finished at the end of its file); none is left alive.
    const dead = st.workers.filter((w) => w.health === 'dead');
    expect(dead.every((w) => w.state === 'dead')).toBe(true);
    expect(dead.every((w) => killedPids.includes(w.pid))).toBe(true);
    expect(dead.length).toBeGreaterThanOrEqual(killedAt.length);
    expect(dead.length).toBeLessThanOrEqual(kills);
    expect(st.workers.filter((w) => w.health === 'alive')).toEqual([]);
    expect(st.workers.length - dead.length).toBe(st.workers.filter((w) => w.health === 'finished').length);

    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
    const watched = await watchRows(db, ['--job', job]);
    expect(duplicatedWindowKeys(watched)).toEqual([]);
    expect(countDifferences(sumByKey(watched), truth)).toEqual([]);
    expect(integrityCheck(db)).toBe('ok');
  });
});

describe('a crashed worker restarted after another worker of the job finished', () => {
  // SPEC §3: "a replayable source restarted after a crash neither loses nor double-counts a
  // record". Here the crashed worker is dead, so a second worker reaching its end of input is
  // "the last one" and finalizes the current processing-time window early; the restarted worker
  // then resumes its file inside that same window.
  it('resumes its file and loses no record to the window finalized meanwhile', async () => {
    const db = tmp.path('crash-then-finish.db');
    const job = 'crash-then-finish';
    const big = tmp.path('crash-big.txt');
    const small = tmp.path('crash-small.txt');
    const data = generateWordCorpus(seededRandom(0x2_0005), 6_000_000, 1000);
    await writeFile(big, data);
    await writeFile(small, 'x y z\n');
    const truth = wordCounts(data.toString('utf8'));
    addCounts(truth, wordCounts('x y z\n'));
    // Every process starts its clock at the same instant: all in one 1-day window, whatever the wall clock.
    const env = { STATESYNC_NOW: '2026-03-01T12:00:00Z' };
    const args = (file: string) => ['count', file, '--db', db, '--job', job, '--window', '1d', '--commit-interval', '10ms', '--quiet'];

    const k = spawnCli(args(big), { env });
    const kDone = collect(k);
    k.stdin.end();
    const source = await waitFor('the first commit of the big file', () =>
      peekDb(db, (d) => d.prepare('SELECT source, offset FROM sources WHERE job = ?').get(job) as { source: string; offset: number } | undefined),
      15_000,
      2,
    );
    k.kill('SIGKILL');
    expect((await kDone).signal).toBe('SIGKILL');
    const offset = committedOffset(db, job, source.source)!;
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(data.length);

    const other = await runCli(args(small), { env });
    expectExit(other, 0);
    const restarted = await runCli(args(big), { env });
    expectExit(restarted, 0);
    expect(restarted.stderr).toContain(`resuming after ${offset} bytes already committed`);
    expect(restarted.stderr).not.toMatch(/late record/);

    const st = await clusterStatus(db);
    const jobStatus = st.jobs.find((j) => j.job === job)!;
    expect(jobStatus.late).toBe(0);
    expect(jobStatus.records).toBe(total(truth));
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// 3. The same batch twice changes the state once
// ---------------------------------------------------------------------------

describe('the same batch applied twice changes the state once', () => {
  it('replayed offsets: a consumed file adds nothing; two runs on the same file and --source count it once', async () => {
    const db = tmp.path('replay.db');
    const file = tmp.path('replay.txt');
    const data = generateWordCorpus(seededRandom(0x3_0003), 3_000_000, 2000);
    await writeFile(file, data);
    const truth = wordCounts(data.toString('utf8'));

    const once = ['count', file, '--db', db, '--job', 'replay', '--window', '1d', '--commit-interval', '20ms', '--quiet'];
    expectExit(await runCli(once), 0);
    const again = await runCli(once);
    expectExit(again, 0);
    expect(again.stderr).toMatch(/already consumed/);
    const st = await clusterStatus(db);
    expect(st.jobs.find((j) => j.job === 'replay')!.records).toBe(total(truth));
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);

    // Two processes started at the same instant on the same file, as the same source.
    let refused = 0;
    for (let round = 0; round < 3; round++) {
      const job = `race-${round}`;
      const args = ['count', file, '--db', db, '--job', job, '--source', 'shared', '--window', '1d', '--commit-interval', '5ms', '--quiet'];
      const results = await Promise.all([runCli(args), runCli(args)]);
      for (const r of results) {
        expect([0, 1], r.stderr).toContain(r.exitCode);
        if (r.exitCode === 1) {
          refused++;
          expect(r.stderr).toMatch(/another process applied it/);
        }
      }
      expect(results.some((r) => r.exitCode === 0)).toBe(true);
      const status = await clusterStatus(db);
      expect(status.jobs.find((j) => j.job === job)!.records, job).toBe(total(truth));
      expect(status.sources.find((s) => s.job === job)!.offset).toBe(data.length);
      const { stdout } = await runCliOk(['query', '--db', db, '--job', job, '--format', 'json']);
      expect(countDifferences(sumByKey(parseJsonLines(stdout)), truth), job).toEqual([]);
    }
    // Not required, but tells whether the refusal path ran at all.
    console.info(`same-source races: ${refused} of 3 rounds had one run refused`);
    expect(integrityCheck(db)).toBe('ok');
  });

  it('the same dedupe ids sent by two processes at once: each id applied once, duplicates counted', async () => {
    const db = tmp.path('dedupe.db');
    const job = 'dedupe';
    const random = seededRandom(0x3_0004);
    const keyOf = (id: number) => `k${(id * 7919) % 97}`;
    const shuffled = (ids: number[]): number[] => {
      const a = [...ids];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    };
    const shared = Array.from({ length: 30_000 }, (_, i) => i);
    // Each sender: the shared ids in its own order, a few of them resent (retries), and some ids of its own.
    const build = (own: number[]) => {
      const ids = shuffled([...shared, ...own]);
      for (let n = 0; n < 500; n++) ids.splice(Math.floor(random() * ids.length), 0, ids[Math.floor(random() * ids.length)]!);
      return ids;
    };
    const idsA = build(Array.from({ length: 2000 }, (_, i) => 100_000 + i));
    const idsB = build(Array.from({ length: 3000 }, (_, i) => 200_000 + i));
    const text = (ids: number[]) => Buffer.from(ids.map((id) => `id-${id} ${keyOf(id)}\n`).join(''), 'utf8');
    const files = [text(idsA), text(idsB)];
    await writeFile(tmp.path('dedupe-a.txt'), files[0]!);
    await writeFile(tmp.path('dedupe-b.txt'), files[1]!);
    const unique = new Set([...idsA, ...idsB]);
    const truth = new Map<string, number>();
    for (const id of unique) truth.set(keyOf(id), (truth.get(keyOf(id)) ?? 0) + 1);
    const lines = idsA.length + idsB.length;

    const args = ['count', '--db', db, '--job', job, '--key', 'field=2', '--dedupe', 'field=1', '--window', '1d', '--commit-interval', '20ms', '--quiet'];
    const a = spawnCli(args);
    await waitForRunning(db, job, 1);
    const b = spawnCli(args);
    const done = [collect(a, 40_000), collect(b, 40_000)];
    await waitForRunning(db, job, 2);
    // Both at once, at the same pace: the same ids reach the two processes' commits together.
    await Promise.all([
      feedPaced(a, files[0]!, { chunkBytes: 16 * 1024, everyMs: 8, end: true }),
      feedPaced(b, files[1]!, { chunkBytes: 16 * 1024, everyMs: 8, end: true }),
    ]);
    const results = await Promise.all(done);
    let skipped = 0;
    for (const r of results) {
      expectExit(r, 0);
      const m = /skipped (\d+) duplicate records?/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      skipped += Number(m![1]);
    }

    const st = await clusterStatus(db);
    const jobStatus = st.jobs.find((j) => j.job === job)!;
    expect(jobStatus.records).toBe(unique.size);
    expect(jobStatus.duplicates).toBe(lines - unique.size);
    expect(skipped).toBe(lines - unique.size);
    expect(jobStatus.late).toBe(0);
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
    const watched = await watchRows(db, ['--job', job]);
    expect(duplicatedWindowKeys(watched)).toEqual([]);
    expect(countDifferences(sumByKey(watched), truth)).toEqual([]);
    // Every id is remembered once.
    expect(peekDb(db, (d) => d.prepare('SELECT COUNT(*) FROM dedupe WHERE job = ?').pluck().get(job))).toBe(unique.size);
    expect(integrityCheck(db)).toBe('ok');
  });
});

// ---------------------------------------------------------------------------
// 4. A paused worker
// ---------------------------------------------------------------------------

describe('a worker paused beyond --worker-timeout (SIGSTOP, then SIGCONT)', () => {
  it('is declared dead, rejoins, and neither publishes a duplicate nor changes a published window', async () => {
    const db = tmp.path('pause.db');
    const job = 'pause';
    const common = ['count', '--db', db, '--job', job, '--window', '1s', '--worker-timeout', '1s', '--format', 'json'];
    // A commits every 400 ms (so what it read just before the pause is still uncommitted), B every 100 ms.
    const a = spawnCli([...common, '--source', 'a', '--commit-interval', '400ms']);
    const aDone = collect(a, 40_000);
    await waitForRunning(db, job, 1);
    const b = spawnCli([...common, '--source', 'b', '--commit-interval', '100ms']);
    const bDone = collect(b, 40_000);
    await waitForRunning(db, job, 2);
    const aOriginal = workerRows(db)!.find((w) => w.pid === a.pid)!;

    const expected = new Map<string, number>();
    const written = { a: 0, b: 0 };
    const send = (child: ChildProcessWithoutNullStreams, who: 'a' | 'b', line: string) => {
      child.stdin.write(line);
      written[who] += Buffer.byteLength(line);
      addCounts(expected, wordCounts(line));
    };
    let feedA = true;
    let feeding = true;
    let n = 0;
    const feeder = (async () => {
      while (feeding) {
        n++;
        send(b, 'b', `b${n % 13} shared${n % 5} shared${n % 7}\n`);
        if (feedA) send(a, 'a', `a${n % 11} shared${n % 5}\n`);
        await sleep(40); // the feeding pace: steady input is the workload
      }
    })();

    await waitFor('two windows published', () => ((peekDb(db, (d) => d.prepare('SELECT COUNT(*) FROM results').pluck().get() as number) ?? 0) >= 2 ? true : undefined), 10_000);

    // Leave A with read but uncommitted records: right after one of its commits, send a probe
    // line, let A read and handle it, and stop A before its next commit. Retry (with a short,
    // harmless stop) if a commit slipped in between.
    const probeWords = 200;
    const probe = `${Array.from({ length: probeWords }, () => 'probe').join(' ')}\n`;
    let stoppedAt = 0;
    for (let attempt = 0; ; attempt++) {
      expect(attempt, 'a probe left uncommitted in A').toBeLessThan(6);
      feedA = false;
      await waitFor('A to commit all it was sent', () => committedOffset(db, job, 'a') === written.a, 5000, 2);
      const before = bytesReadBy(a.pid!);
      send(a, 'a', probe);
      await waitFor('A to read the probe', () => {
        const now = bytesReadBy(a.pid!);
        return before === null || (now !== null && now - before >= probe.length);
      }, 2000, 2);
      // Its records are stamped with the time they are handled: stopped before that, they would
      // land in a window after the pause and not be late.
      await waitUntilHandled(a);
      a.kill('SIGSTOP');
      stoppedAt = Date.now();
      await waitFor('A to be stopped', () => processState(a.pid!) === 'T' || processState(a.pid!) === null, 2000, 2);
      if (committedOffset(db, job, 'a')! < written.a) break;
      a.kill('SIGCONT'); // the probe got committed: count it as normal data and try again
      feedA = true;
    }
    expect(a.exitCode).toBeNull();

    // B keeps going: it declares A dead and finalizes the windows A held, including the probe's.
    const probeWindowEnd = Math.floor(stoppedAt / 1000) * 1000 + 1000;
    await waitFor(
      'B to finalize the windows up to the one A was stopped in',
      () => {
        const end = peekDb(db, (d) => d.prepare('SELECT MAX(window_end) FROM results').pluck().get() as number | null);
        const aRow = workerRows(db)?.find((w) => w.worker_id === aOriginal.worker_id);
        return end != null && end >= probeWindowEnd + 1000 && aRow?.state === 'dead' ? true : undefined;
      },
      8000,
      20,
    );
    const duringPause = await runCliOk(['status', '--db', db, '--format', 'json', '--worker-timeout', '1s']);
    const pausedStatus = JSON.parse(duringPause.stdout) as Awaited<ReturnType<typeof clusterStatus>>;
    expect(pausedStatus.workers.find((w) => w.id === aOriginal.worker_id)?.health).toBe('dead');
    const snapshot = await publishedWindows(db);
    const finalizedWhileStopped = snapshot.filter((w) => w.finalized_at > stoppedAt);
    expect(finalizedWhileStopped.length).toBeGreaterThanOrEqual(1);
    expect(snapshot.some((w) => w.window_start <= stoppedAt - 20 && stoppedAt - 20 < w.window_end)).toBe(true);
    expect(a.exitCode).toBeNull();

    // A wakes up: fenced at its next commit, it rejoins under a new id.
    a.kill('SIGCONT');
    feedA = true;
    const rejoined = await waitFor(
      'A to rejoin as a new worker',
      () => workerRows(db)?.find((w) => w.pid === a.pid && w.worker_id !== aOriginal.worker_id && w.state === 'running'),
      5000,
      20,
    );
    // Both run together again: A commits more, and a window is published after it rejoined.
    const aRejoinedAt = committedOffset(db, job, 'a')!;
    await waitFor(
      'A to commit again and a window to be published after it rejoined',
      async () =>
        (committedOffset(db, job, 'a') ?? 0) > aRejoinedAt &&
        (await publishedWindows(db)).some((w) => w.finalized_at > rejoined.started_at),
      10_000,
      20,
    );
    feeding = false;
    await feeder;
    a.stdin.end();
    b.stdin.end();
    const [ra, rb] = await Promise.all([aDone, bDone]);
    expectExit(ra, 0);
    expectExit(rb, 0);
    expect(ra.stderr).toMatch(/declared dead/);
    expect(ra.stderr).toMatch(/rejoining as a new worker/);
    expect(ra.stderr).toMatch(new RegExp(`${probeWords} late records`));

    // Published rows never changed, and nothing was published twice.
    const after = await publishedWindows(db);
    expect(after.slice(0, snapshot.length)).toEqual(snapshot);
    expect(new Set(after.map((w) => w.window_start)).size).toBe(after.length);
    const watched = await watchRows(db, ['--job', job]);
    expect(duplicatedWindowKeys(watched)).toEqual([]);
    const printed = [ra, rb].map((r) => parseJsonLines(r.stdout));
    expect(sortedRows(printed.flat())).toEqual(sortedRows(watched));

    // The probe was read before the pause and committed after its window was published: late,
    // counted once as such and never merged; everything else counted exactly once.
    const st = await clusterStatus(db);
    const jobStatus = st.jobs.find((j) => j.job === job)!;
    expect(jobStatus.late).toBe(probeWords);
    expect(jobStatus.open_windows).toBe(0);
    // A probe of an earlier attempt that got committed (the retry above) counts as normal data.
    const truth = new Map(expected);
    const countedProbes = truth.get('probe')! - probeWords;
    if (countedProbes === 0) truth.delete('probe');
    else truth.set('probe', countedProbes);
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
    expect(countDifferences(sumByKey(watched), truth)).toEqual([]);
    expect(jobStatus.records).toBe(total(truth));
    expect(st.sources.find((s) => s.source === 'a')!.offset).toBe(written.a);
    expect(st.sources.find((s) => s.source === 'b')!.offset).toBe(written.b);

    const aRows = st.workers.filter((w) => w.pid === a.pid);
    expect(aRows.find((w) => w.id === aOriginal.worker_id)!.state).toBe('dead');
    expect(aRows.filter((w) => w.id !== aOriginal.worker_id).map((w) => w.state)).toEqual(['finished']);
    expect(integrityCheck(db)).toBe('ok');
  });
});

// ---------------------------------------------------------------------------
// 5. Event time across two workers, one of them idle
// ---------------------------------------------------------------------------

describe('event time across two workers', () => {
  it('a worker idle beyond --idle-timeout does not hold the other worker\'s windows', async () => {
    const db = tmp.path('event.db');
    const base = Date.UTC(2026, 0, 1);
    const def = ['--key', 'field=1', '--time', 'field=2', '--time-format', 'epoch-ms', '--window', '1s', '--commit-interval', '100ms', '--format', 'json'];
    // Job "idle": B has --idle-timeout. Job "hold" (the control): the same, without it.
    const spawnWorker = (job: string, source: string, extra: readonly string[] = []) =>
      spawnCli(['count', '--db', db, '--job', job, '--source', source, ...def, ...extra]);
    const bIdle = spawnWorker('idle', 'b', ['--idle-timeout', '500ms']);
    const bIdleDone = collect(bIdle, 40_000);
    await waitForRunning(db, 'idle', 1);
    const bHold = spawnWorker('hold', 'b');
    const aIdle = spawnWorker('idle', 'a');
    const aHold = spawnWorker('hold', 'a');
    const [bHoldDone, aIdleDone, aHoldDone] = [bHold, aIdle, aHold].map((c) => collect(c, 40_000));
    await waitForRunning(db, 'idle', 2);
    await waitForRunning(db, 'hold', 2);

    const expected = new Map<string, number>();
    // B: a few records at the very start of event time, then nothing (stdin stays open).
    let bText = '';
    for (let j = 0; j < 5; j++) bText += `b${j % 2} ${base + j * 40}\n`;
    addCounts(expected, sumLines(bText));
    bIdle.stdin.write(bText);
    bHold.stdin.write(bText);
    await waitFor('both B workers to commit', () =>
      committedOffset(db, 'idle', 'b') === bText.length && committedOffset(db, 'hold', 'b') === bText.length ? true : undefined,
    );

    // A: event time moving forward 250 ms per record, a record every 30 ms of wall time: far
    // faster than the wall clock, which is what an idle B's own watermark follows.
    let i = 0;
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        const line = `a${i % 3} ${base + i * 250}\n`;
        addCounts(expected, sumLines(line));
        aIdle.stdin.write(line);
        aHold.stdin.write(line);
        i++;
        await sleep(30); // the feeding pace: A's event time runs ahead of the wall clock
      }
    })();

    // Windows of A's get finalized while B is still running, idle, with stdin open.
    await waitFor(
      'windows past B\'s event time finalized in job idle',
      () => {
        const ends = peekDb(db, (d) => d.prepare(`SELECT window_end FROM results WHERE job = 'idle'`).pluck().all() as number[]);
        return ends !== undefined && ends.filter((e) => e >= base + 4000).length >= 2 ? true : undefined;
      },
      10_000,
      20,
    );
    expect(bIdle.exitCode).toBeNull();
    // (Published windows first, B's watermark after: it only grows, so the comparison below is fair.)
    const publishedEnds = (await published(db, 'idle')).map((w) => w.window_end);
    const whileRunning = await clusterStatus(db, '10s');
    const bRow = whileRunning.workers.find((w) => w.job === 'idle' && w.pid === bIdle.pid)!;
    expect(bRow.health).toBe('alive');
    expect(bRow.state).toBe('running');
    expect(bRow.idle).toBe(true);
    // Finalization followed A's watermark, not B's: windows ending beyond B's own (idle,
    // wall-clock-driven) watermark are published. B is left out of the minimum, not just slow.
    expect(bRow.watermark).not.toBeNull();
    expect(Math.max(...publishedEnds)).toBeGreaterThan(Date.parse(bRow.watermark!));
    // The control: B without --idle-timeout holds job "hold" back at its own event time.
    expect(bHold.exitCode).toBeNull();
    expect(peekDb(db, (d) => d.prepare(`SELECT COUNT(*) FROM results WHERE job = 'hold'`).pluck().get())).toBe(0);
    const idleWatch = await watchRows(db, ['--job', 'idle']);
    expect(new Set(idleWatch.map((r) => r.window_start)).size).toBeGreaterThanOrEqual(2);

    // Once the holding B ends, A's windows in job "hold" are finalized too.
    bHold.stdin.end();
    expectExit(await bHoldDone, 0);
    await waitFor(
      'windows finalized in job hold',
      () => ((peekDb(db, (d) => d.prepare(`SELECT COUNT(*) FROM results WHERE job = 'hold'`).pluck().get() as number) ?? 0) >= 2 ? true : undefined),
      10_000,
      20,
    );

    feeding = false;
    await feeder;
    for (const c of [aIdle, aHold, bIdle]) c.stdin.end();
    const results = await Promise.all([aIdleDone, aHoldDone, bIdleDone]);
    for (const r of results) {
      expectExit(r, 0);
      expect(r.stderr).not.toMatch(/late/);
    }
    for (const job of ['idle', 'hold']) {
      const { stdout } = await runCliOk(['query', '--db', db, '--job', job, '--format', 'json']);
      expect(countDifferences(sumByKey(parseJsonLines(stdout)), expected), job).toEqual([]);
      const watched = await watchRows(db, ['--job', job]);
      expect(duplicatedWindowKeys(watched)).toEqual([]);
      expect(countDifferences(sumByKey(watched), expected), job).toEqual([]);
      // Published in window order.
      const starts = windowsInOrder(watched).map((w) => Date.parse(w.start));
      expect(starts).toEqual([...starts].sort((x, y) => x - y));
    }
    expect(integrityCheck(db)).toBe('ok');
  });
});

/** Counts of the first field of each line. */
function sumLines(text: string): Map<string, number> {
  return countKeys(text.split('\n').map((line) => line.split(' ')[0]!).filter((key) => key !== ''));
}
