/**
 * Cooperating workers on one PostgreSQL database (issue 14): real statesync
 * processes share a database of the run's throwaway server, publish every
 * window exactly once under gapless publication numbers in commit order,
 * and survive SIGKILL at any moment without losing or double-counting a
 * record. Checked against independent counts, the CLI, and statesync's
 * tables (schema `statesync`) read directly with `pg`.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { holdCommits, usePgProbes, type PgProbe } from '../support/pg.js';
import { killSweep, type SweepSnapshot } from './kill-sweep.js';
import {
  addCounts,
  clusterStatus,
  collect,
  countDifferences,
  duplicatedWindowKeys,
  feedPaced,
  generateWordCorpus,
  parseJsonLines,
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
  watchRows,
  wordCounts,
  type JsonRow,
  expectExit,
} from './helpers.js';

const tmp = useTempDir('pg-workers');
const pgs = usePgProbes();

// ---------------------------------------------------------------------------
// Reading the database
// ---------------------------------------------------------------------------

interface WorkerRow {
  readonly worker_id: string;
  readonly job: string;
  readonly pid: number;
  readonly state: 'running' | 'finished' | 'dead';
  readonly ended_at: number | null;
}

/** A publication, as the `results` table holds it. */
interface ResultRow {
  readonly seq: number;
  readonly job: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly revision: number;
  readonly final: boolean;
  readonly finalized_at: number;
  /** JSON [[key, value], ...] */
  readonly rows: string;
}

/** Waits until at least `count` workers of the job are registered and running (the first one creates the schema). */
async function waitForRunning(db: PgProbe, job: string, count: number): Promise<WorkerRow[]> {
  return waitFor(
    `${count} running workers of job ${job}`,
    async () => {
      const rows = await db.peek<WorkerRow>(`SELECT * FROM statesync.workers WHERE job = $1 AND state = 'running'`, [job]);
      return rows !== undefined && rows.length >= count ? rows : undefined;
    },
    15_000,
    20,
  );
}

/** The publication log in seq order. */
function publicationLog(db: PgProbe): Promise<ResultRow[]> {
  return db.rows<ResultRow>('SELECT seq, job, window_start, window_end, revision, final, finalized_at, rows FROM statesync.results ORDER BY seq');
}

/** Per-key totals over the latest revision of each window of the job. */
function latestRevisionTotals(log: readonly ResultRow[], job: string): Map<string, number> {
  const latest = new Map<number, ResultRow>();
  for (const r of log) {
    if (r.job === job && (latest.get(r.window_start)?.revision ?? 0) < r.revision) latest.set(r.window_start, r);
  }
  const totals = new Map<string, number>();
  for (const r of latest.values()) {
    for (const [key, value] of JSON.parse(r.rows) as Array<[string, number]>) totals.set(key, (totals.get(key) ?? 0) + value);
  }
  return totals;
}

/** Fails unless every (job, window) has revisions 1..k, each published once, and at most its last one final. */
function expectRevisionsOnce(log: readonly ResultRow[]): void {
  const byWindow = new Map<string, ResultRow[]>();
  for (const r of log) {
    const id = `${r.job}|${r.window_start}`;
    byWindow.set(id, [...(byWindow.get(id) ?? []), r]);
  }
  for (const [id, rows] of byWindow) {
    expect(rows.map((r) => r.revision), id).toEqual(rows.map((_, i) => i + 1));
    expect(rows.slice(0, -1).filter((r) => r.final), `${id}: only the last revision may be final`).toEqual([]);
  }
}

/** The distinct publication numbers of watch rows, in the order they were printed. */
function seqsInOrder(rows: readonly JsonRow[]): number[] {
  const seqs: number[] = [];
  for (const row of rows) if (seqs[seqs.length - 1] !== row.seq) seqs.push(row.seq!);
  return seqs;
}

const oneToN = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

function sortedRows(rows: readonly JsonRow[]): string[] {
  return rows.map((r) => `${r.job}|${r.window_start}|${r.window_end}|${r.key}|${r.value}`).sort();
}

// ---------------------------------------------------------------------------
// 1. Three workers, a third of a corpus each
// ---------------------------------------------------------------------------

describe('three workers on one PostgreSQL database', () => {
  it('publish each window once, numbered 1..N in commit order: a follower started first sees every number in order', async () => {
    const db = await pgs.fresh();
    const job = 'thirds';
    const random = seededRandom(0x9_0001);
    const parts = [0, 1, 2].map(() => generateWordCorpus(random, 2_000_000, 4000));
    const truth = new Map<string, number>();
    for (const part of parts) addCounts(truth, wordCounts(part.toString('utf8')));
    expect(truth.size).toBe(4000);
    // Within a job the job's row lock already serializes publishers, so publication numbers could
    // only come out of commit order between jobs: a fourth worker of another job publishes at the
    // same moments (windows end together) and competes for the same counter. (The next describe
    // block makes that race happen on purpose.)
    const otherPart = generateWordCorpus(random, 1_000_000, 500);
    const otherTruth = wordCounts(otherPart.toString('utf8'));

    // Each worker reads its file from stdin (a replayable source named after it), fed at a steady
    // pace so that they really overlap and short windows end while all of them run.
    const args = (jobName: string, source: string) =>
      ['count', '--db', db.url, '--job', jobName, '--source', source, '--window', '250ms', '--commit-interval', '50ms', '--format', 'json'];
    const workers: ChildProcessWithoutNullStreams[] = [spawnCli(args(job, 'third-0.txt'))];
    await waitForRunning(db, job, 1); // the first one creates the schema
    workers.push(spawnCli(args(job, 'third-1.txt')), spawnCli(args(job, 'third-2.txt')));
    const other = spawnCli(args('other', 'other.txt'));
    const done = workers.map((w) => collect(w, 45_000));
    const otherDone = collect(other, 45_000);
    await waitForRunning(db, job, 3);
    await waitForRunning(db, 'other', 1);

    // A follower of the whole log, listening before anything is published.
    const follower = spawnCli(['watch', '--db', db.url, '--follow', '--format', 'json']);
    const followed = collect(follower, 45_000);
    const followedSoFar = textOf(follower.stdout);
    await waitFor('the follower to LISTEN', async () => (await db.sessions()).some((s) => s.query === 'LISTEN statesync_publication'));
    expect(await publicationLog(db)).toEqual([]);

    const feedStart = Date.now();
    await Promise.all([
      ...workers.map((w, i) => feedPaced(w, parts[i]!, { chunkBytes: 48 * 1024, everyMs: 35, end: true })),
      feedPaced(other, otherPart, { chunkBytes: 24 * 1024, everyMs: 35, end: true }),
    ]);
    const results = await Promise.all(done);
    for (const r of results) expectExit(r, 0);
    expectExit(await otherDone, 0);
    const feedMs = Date.now() - feedStart;

    // The log: numbers 1..N over both jobs, the counter at N, each (window, revision) once.
    const log = await publicationLog(db);
    expect(log.map((r) => r.seq)).toEqual(oneToN(log.length));
    expect(await db.rows(`SELECT value FROM statesync.sequences WHERE name = 'publication'`)).toEqual([{ value: log.length }]);
    expectRevisionsOnce(log);
    for (const [name, expected] of [
      [job, truth],
      ['other', otherTruth],
    ] as const) {
      const mine = log.filter((r) => r.job === name);
      // Each window published once, final, but for the one the last worker ended in (it had not ended yet).
      expect(new Set(mine.map((r) => r.window_start)).size, name).toBe(mine.length);
      expect(mine.slice(0, -1).filter((r) => !r.final), name).toEqual([]);
      for (const r of mine) expect(r.window_end - r.window_start).toBe(250);
      expect(countDifferences(latestRevisionTotals(log, name), expected), name).toEqual([]);
    }
    // The two jobs' publications interleave in the log: the numbers were contended.
    const jobsInOrder = log.map((r) => r.job).filter((name, i, all) => i === 0 || all[i - 1] !== name);
    expect(jobsInOrder.length, 'runs of one job in the log').toBeGreaterThanOrEqual(3);

    // Several windows were published while all three workers were still running, not only at the end.
    const mine = await db.rows<WorkerRow>('SELECT * FROM statesync.workers WHERE job = $1', [job]);
    expect(mine.map((w) => w.state)).toEqual(['finished', 'finished', 'finished']);
    const firstFinish = Math.min(...mine.map((w) => w.ended_at!));
    const duringRun = log.filter((r) => r.job === job && r.finalized_at < firstFinish);
    expect(duringRun.length, `feed took ${feedMs} ms; ${log.length} publications`).toBeGreaterThanOrEqual(3);

    // The CLI agrees: watch prints every (job, window, key) once, in log order; query and status.
    const watched = await watchRows(db.url);
    expect(duplicatedWindowKeys(watched)).toEqual([]);
    expect(seqsInOrder(watched)).toEqual(oneToN(log.length));
    expect(countDifferences(sumByKey(watched.filter((r) => r.job === job)), truth)).toEqual([]);
    expect(countDifferences(await queryJob(db.url, job), truth)).toEqual([]);
    const st = await clusterStatus(db.url);
    const jobStatus = st.jobs.find((j) => j.job === job)!;
    expect(jobStatus).toMatchObject({ records: total(truth), late: 0, rejected: 0, open_windows: 0 });
    expect(st.published_seq).toBe(log.length);
    expect(st.sources.filter((s) => s.job === job).map((s) => [s.source, s.offset])).toEqual(
      parts.map((p, i) => [`third-${i}.txt`, p.length]),
    );

    // What the workers printed: each window by exactly one of them, together their job's whole log.
    const printed = results.map((r) => parseJsonLines(r.stdout));
    const printedWindows = printed.flatMap((p) => [...new Set(p.map((r) => r.window_start))]);
    expect(printedWindows.length).toBe(new Set(printedWindows).size);
    expect(sortedRows(printed.flat())).toEqual(sortedRows(watched.filter((r) => r.job === job)));

    // The follower, listening from before the first publication, saw every number once, in order.
    await waitFor(`the follower to print the ${watched.length} rows of the log`, () =>
      follower.exitCode === null ? followedSoFar().split('\n').length > watched.length : 'exited',
    );
    // Nothing new is published any more; a follower that printed anything twice would now. The pause is the check.
    await sleep(300);
    follower.kill('SIGINT');
    const f = await followed;
    expectExit(f, 130);
    const followedRows = parseJsonLines(f.stdout);
    expect(seqsInOrder(followedRows)).toEqual(oneToN(log.length));
    expect(followedRows).toEqual(watched);
  });
});

// ---------------------------------------------------------------------------
// 2. A publication held at its COMMIT
// ---------------------------------------------------------------------------

describe('publication numbers in commit order', () => {
  // The trap of issue 14: numbers taken from a sequence (or any counter outside the publishing
  // transaction) are not in commit order. A publication numbered 2 that is slow to commit lets
  // one numbered 3 commit first; a follower reading "from 2 on" then sees 3, moves past it, and
  // never prints 2. Here the server holds one job's publishing COMMIT on purpose while another
  // job publishes.
  it('a publication held at COMMIT holds back the next number; a follower sees 1, 2, 3 in order', async () => {
    const db = await pgs.fresh();
    const count = (job: string, input: string) => runCli(['count', '--db', db.url, '--job', job, '--window', '1d', '--quiet'], { input });
    expectExit(await count('seed', 'a\n'), 0);
    const follower = spawnCli(['watch', '--db', db.url, '--follow', '--format', 'json']);
    const followed = collect(follower, 30_000);
    const followedSoFar = textOf(follower.stdout);
    await waitFor('the follower to print seq 1', () => followedSoFar().includes('"seq":1,'));
    await waitFor('the follower to LISTEN', async () => (await db.sessions()).some((s) => s.query === 'LISTEN statesync_publication'));

    const gate = await holdCommits(db.url, 'results', `NEW.job = 'slow'`);
    try {
      const slow = count('slow', 'b b\n');
      await waitFor('the slow publication to wait at its COMMIT', async () =>
        (await db.sessions()).some((s) => s.applicationName === 'statesync' && s.query === 'COMMIT' && s.waitEventType === 'Lock'),
      );
      const fast = runCli(['count', '--db', db.url, '--job', 'fast', '--window', '1d', '--quiet'], { input: 'c c c\n' });
      const fastExited = fast.then(() => true);
      // Either the fast job's publication waits for the slow one's (its own session waits on a
      // lock too), or it got its number past the held one and finished.
      await waitFor(
        'the fast publication to wait, or to finish',
        async () =>
          (await Promise.race([fastExited, sleep(0).then(() => false)])) ||
          (await db.sessions()).filter((s) => s.applicationName === 'statesync' && s.waitEventType === 'Lock').length >= 2,
      );
      await gate.release();
      for (const r of await Promise.all([slow, fast])) expectExit(r, 0);
    } finally {
      await gate.remove();
    }

    const log = await publicationLog(db);
    expect(log.map((r) => [r.seq, r.job])).toEqual([
      [1, 'seed'],
      [2, 'slow'],
      [3, 'fast'],
    ]);
    await waitFor('the follower to print seq 3', () => follower.exitCode !== null || followedSoFar().includes('"seq":3,'));
    follower.kill('SIGINT');
    const f = await followed;
    expectExit(f, 130);
    expect(seqsInOrder(parseJsonLines(f.stdout))).toEqual([1, 2, 3]);
  });
});

/** Per-key totals of one job as `query --job` prints them. */
async function queryJob(db: string, job: string): Promise<Map<string, number>> {
  const { stdout } = await runCliOk(['query', '--db', db, '--job', job, '--format', 'json']);
  return sumByKey(parseJsonLines(stdout));
}

// ---------------------------------------------------------------------------
// 3. Kill sweep
// ---------------------------------------------------------------------------

describe('kill sweep on PostgreSQL: SIGKILL a random worker of three, restart it on its file', () => {
  it('each file resumes from its committed offset: latest revisions exact, each published once, seq gapless', async () => {
    const db = await pgs.fresh();
    const job = 'sweep';
    const random = seededRandom(0x9_0002);
    // As in workers.test.ts: a long-lived worker of the job on an open stdin keeps the job's windows
    // held while file workers are killed and restarted, so no file worker ends as "the last one"
    // and publishes the current window early while a killed one is on its way back.
    const anchor = spawnCli(['count', '--db', db.url, '--job', job, '--window', '100ms', '--commit-interval', '50ms', '--quiet']);
    const anchorDone = collect(anchor, 60_000);
    await waitForRunning(db, job, 1);

    // One counting thread: with threads a commit's batch may take a whole file (the main thread reads
    // ahead while it commits), and the kills must land mid-file; threads.test.ts kills threaded runs.
    const { truth, kills, killedAt, killedPids, files } = await killSweep({
      tmp,
      random,
      // 6 MB texts: offsets move by whole 1 MiB reads, so every run of a file has several commit points inside it.
      bytes: 6_000_000,
      args: (file) => ['count', file, '--db', db.url, '--job', job, '--window', '100ms', '--commit-interval', '10ms', '--quiet', '--threads', '1'],
      snapshot: async () => {
        const [snap] = await db.rows<SweepSnapshot>(
          `SELECT (SELECT records FROM statesync.jobs WHERE job = $1) AS records,
             COALESCE((SELECT json_agg(json_build_object('source', source, 'offset', "offset")) FROM statesync.sources
                        WHERE job = $1 AND kind = 'file'), '[]') AS offsets`,
          [job],
        );
        return snap;
      },
      kills: 8,
      deadlineMs: 30_000,
      jitterMs: 20,
    });
    console.info(`postgres kill sweep: ${kills} kills, ${killedAt.length} mid-file after progress, ${files.length} files`);
    expect(kills, 'kills').toBeGreaterThanOrEqual(3);
    expect(killedAt.length, `mid-file kill offsets ${killedAt.join(', ')}`).toBeGreaterThanOrEqual(3);

    // The anchor, with no records of its own, leaves the windows the file workers left open until
    // it ends, and then publishes them: final once they have ended. So it ends after the last one.
    const [open] = await db.rows<{ end: number | null }>('SELECT MAX(window_end) AS end FROM statesync.deltas');
    const lastEnd = open!.end;
    await waitFor('the last open window to end', () => lastEnd === null || Date.now() >= lastEnd, 5000);
    anchor.stdin.end();
    expectExit(await anchorDone, 0);

    // No source applied twice: every offset is its file's size (killSweep checked), and the records are the ground truth's.
    const [counters] = await db.rows<{ records: number; late: number; rejected: number }>(
      'SELECT records, late, rejected FROM statesync.jobs WHERE job = $1',
      [job],
    );
    expect(counters).toEqual({ records: total(truth), late: 0, rejected: 0 });

    // Every (window, revision) published once: the table's UNIQUE, and counted; numbers gapless.
    const log = await publicationLog(db);
    expect(log.length).toBeGreaterThan(0);
    expect(
      await db.rows('SELECT job, window_start, revision FROM statesync.results GROUP BY 1, 2, 3 HAVING COUNT(*) > 1'),
    ).toEqual([]);
    expectRevisionsOnce(log);
    expect(log.map((r) => r.seq)).toEqual(oneToN(log.length));
    // The latest revision of each window, summed: exactly the ground truth; each final.
    expect(countDifferences(latestRevisionTotals(log, job), truth)).toEqual([]);
    expect(new Set(log.filter((r) => r.final).map((r) => r.window_start)).size).toBe(new Set(log.map((r) => r.window_start)).size);

    const st = await clusterStatus(db.url);
    expect(st.jobs.find((j) => j.job === job)).toMatchObject({ open_windows: 0, provisional_windows: 0 });
    // Every run killed mid-file is dead; every other run finished; none is left alive.
    const dead = st.workers.filter((w) => w.health === 'dead');
    expect(dead.every((w) => w.state === 'dead' && killedPids.includes(w.pid))).toBe(true);
    expect(dead.length).toBeGreaterThanOrEqual(killedAt.length);
    expect(dead.length).toBeLessThanOrEqual(kills);
    expect(st.workers.filter((w) => w.health === 'alive')).toEqual([]);

    expect(countDifferences(await queryTotals(db.url), truth)).toEqual([]);
    const watched = await watchRows(db.url, ['--job', job, '--final']);
    expect(duplicatedWindowKeys(watched)).toEqual([]);
    expect(countDifferences(sumByKey(watched), truth)).toEqual([]);
  });
});
