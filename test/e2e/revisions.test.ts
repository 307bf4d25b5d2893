/**
 * Provisional windows and revisions (issue 13), with real processes: a window
 * published early (an input ended, or its last live worker finished, before
 * the watermark passed its end) is amended by later records of the same
 * window and published again as the next revision, complete; once the
 * watermark passes its end it is published final and a record for it is late.
 * Every check is against counts the test computes itself, the publication log
 * (the `results` table), `watch`, `query` and `status`.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addCounts,
  collect,
  countDifferences,
  generateWordCorpus,
  integrityCheck,
  parseJsonLines,
  peekDb,
  runCli,
  runCliOk,
  seededRandom,
  sleep,
  spawnCli,
  status,
  total,
  waitFor,
  watchRows,
  wordCounts,
  wordsBefore,
  type CliResult,
  type JsonRow,
  useTempDir,
} from './helpers.js';

const tmp = useTempDir('revisions');

// ---------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------

/** One publication, straight from the `results` table. */
interface Publication {
  readonly seq: number;
  readonly job: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly revision: number;
  readonly final: number;
  readonly rows: string;
}

/** The publication log in seq order (`SELECT *`, so a schema without revisions fails on the values, not here). */
async function publications(db: string): Promise<Publication[]> {
  const all = await waitFor('the results table', () =>
    peekDb(db, (d) => d.prepare('SELECT * FROM results ORDER BY seq').all() as Publication[]),
  );
  return all.map(({ seq, job, window_start, window_end, revision, final, rows }) => ({
    seq,
    job,
    window_start,
    window_end,
    revision,
    final,
    rows,
  }));
}

function rowsOf(p: Publication): Map<string, number> {
  return new Map(JSON.parse(p.rows) as Array<[string, number]>);
}

/** watch rows with the publication fields. */
type WatchRow = JsonRow & { readonly seq: number; readonly revision: number; readonly final: boolean };
type QueryRow = Omit<JsonRow, 'state'> & { readonly state: 'open' | 'provisional' | 'final' };

/** Per-key totals over rows of any window (query rows may say `provisional`, which JsonRow does not know). */
function keyTotals(rows: ReadonlyArray<{ readonly key: string; readonly value: number }>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.key, (totals.get(r.key) ?? 0) + r.value);
  return totals;
}

async function watched(db: string, extra: readonly string[] = []): Promise<WatchRow[]> {
  return (await watchRows(db, extra)) as WatchRow[];
}

async function queried(db: string): Promise<QueryRow[]> {
  return parseJsonLines((await runCliOk(['query', '--db', db, '--format', 'json'])).stdout) as unknown as QueryRow[];
}

/** watch rows grouped by publication, in order: seq, window, revision, final and the rows' totals. */
function watchPublications(rows: readonly WatchRow[]) {
  const out: Array<{ seq: number; start: string; end: string; revision: number; final: boolean; rows: Map<string, number> }> = [];
  for (const r of rows) {
    let last = out[out.length - 1];
    if (last === undefined || last.seq !== r.seq) {
      last = { seq: r.seq, start: r.window_start, end: r.window_end, revision: r.revision, final: r.final, rows: new Map() };
      out.push(last);
    }
    expect([r.window_start, r.revision, r.final], `every row of seq ${r.seq} names the same publication`).toEqual([
      last.start,
      last.revision,
      last.final,
    ]);
    expect(last.rows.has(r.key), `key ${r.key} twice in seq ${r.seq}`).toBe(false);
    last.rows.set(r.key, r.value);
  }
  return out;
}

/** Window starts of every delta row and every publication: where the database put anything. */
function windowsInDatabase(db: string): number[] {
  return peekDb(db, (d) =>
    d.prepare('SELECT window_start FROM deltas UNION SELECT window_start FROM results ORDER BY 1').pluck().all() as number[],
  )!;
}

/** What a stream command's json output says it published: `WINDOW_START rREVISION final|provisional`, once each. */
function printedMarks(stdout: string): Set<string> {
  return new Set(
    (parseJsonLines(stdout) as Array<JsonRow & { revision?: number; final?: boolean }>).map(
      (r) => `${r.window_start} r${r.revision} ${r.final === true ? 'final' : r.final === false ? 'provisional' : r.final}`,
    ),
  );
}

function expectExit(result: CliResult, code: number): void {
  expect(result.exitCode, `exit ${result.exitCode ?? result.signal}; stderr: ${result.stderr}`).toBe(code);
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Small word-count inputs: a few hundred words over a vocabulary with multi-byte UTF-8. */
function smallText(random: () => number, bytes: number): string {
  return generateWordCorpus(random, bytes, 60).toString('utf8');
}

// ---------------------------------------------------------------------------
// 1. Three runs in one hour, then one an hour later
// ---------------------------------------------------------------------------

describe('count FILE --db --window 1h run three times in one hour (the cron use)', () => {
  it('one window, revisions 1-3, each complete and provisional; a run at 18:05 makes it final', async () => {
    const db = join(tmp.dir, 'hourly.db');
    const file = join(tmp.dir, 'hourly.log');
    const args = ['count', file, '--db', db, '--window', '1h', '--format', 'json'];
    const H16 = Date.parse('2026-05-04T16:00:00Z');
    const H17 = H16 + 3_600_000;
    const H18 = H17 + 3_600_000;
    const random = seededRandom(0x13_0001);
    await writeFile(file, '');

    let written = '';
    const revisions: Array<Map<string, number>> = [];
    let before: Publication[] = [];
    for (const [n, now] of ['16:50', '16:52', '16:55'].entries()) {
      const chunk = smallText(random, 3000 + n * 500);
      await appendFile(file, chunk);
      written += chunk;
      const expected = wordCounts(written);
      revisions.push(expected);
      const run = await runCliOk(args, { env: { STATESYNC_NOW: `2026-05-04T${now}:00Z` } });
      // The run prints what it publishes: the whole window, not just its own lines.
      const printed = parseJsonLines(run.stdout);
      expect(new Set(printed.map((r) => `${r.window_start}/${r.window_end}`)), `run at ${now}`).toEqual(
        new Set([`${iso(H16)}/${iso(H17)}`]),
      );
      expect(countDifferences(keyTotals(printed), expected), `printed at ${now}`).toEqual([]);
      expect(printedMarks(run.stdout)).toEqual(new Set([`${iso(H16)} r${n + 1} provisional`]));

      const log = await publications(db);
      expect(log.slice(0, before.length), 'nothing already published changes').toEqual(before);
      expect(log).toHaveLength(n + 1);
      const p = log[n]!;
      expect([p.seq, p.window_start, p.window_end, p.revision, p.final], `run at ${now}`).toEqual([n + 1, H16, H17, n + 1, 0]);
      expect(countDifferences(rowsOf(p), expected), `revision ${n + 1} is complete`).toEqual([]);
      before = log;
    }

    // A run with nothing new changes nothing and publishes nothing.
    const idle = await runCliOk(args, { env: { STATESYNC_NOW: '2026-05-04T16:57:00Z' } });
    expect(idle.stdout).toBe('');
    expect(idle.stderr).toMatch(/already consumed/);
    expect(await publications(db)).toEqual(before);

    // No future window anywhere: the log, the deltas, query, watch, status.
    expect(windowsInDatabase(db)).toEqual([H16]);
    const q = await queried(db);
    expect(new Set(q.map((r) => `${r.window_start} ${r.state}`))).toEqual(new Set([`${iso(H16)} provisional`]));
    expect(countDifferences(keyTotals(q), revisions[2]!)).toEqual([]);
    const w = watchPublications(await watched(db));
    expect(w.map((p) => [p.seq, p.start, p.end, p.revision, p.final])).toEqual([
      [1, iso(H16), iso(H17), 1, false],
      [2, iso(H16), iso(H17), 2, false],
      [3, iso(H16), iso(H17), 3, false],
    ]);
    for (const [i, p] of w.entries()) expect(countDifferences(p.rows, revisions[i]!), `watch seq ${p.seq}`).toEqual([]);
    expect((await runCliOk(['watch', '--db', db, '--final', '--format', 'json'])).stdout).toBe('');
    const st = await status(db);
    const notFinal = (st as unknown as { open_windows: Array<Record<string, unknown>> }).open_windows;
    expect(notFinal.map((o) => [o.window_start, o.state, o.revision])).toEqual([[iso(H16), 'provisional', 3]]);
    expect(st.jobs[0]).toMatchObject({
      records: total(revisions[2]!),
      late: 0,
      open_windows: 0,
      provisional_windows: 1,
      finalized_windows: 0,
    });

    // An hour later, with new lines: 16:00 final (the same rows as revision 3), 18:00 provisional.
    const later = smallText(random, 2000);
    await appendFile(file, later);
    const run4 = await runCliOk(args, { env: { STATESYNC_NOW: '2026-05-04T18:05:00Z' } });
    const printed4 = parseJsonLines(run4.stdout);
    expect(printedMarks(run4.stdout)).toEqual(new Set([`${iso(H16)} r4 final`, `${iso(H18)} r1 provisional`]));
    expect(countDifferences(keyTotals(printed4.filter((r) => r.window_start === iso(H16))), revisions[2]!)).toEqual([]);
    expect(countDifferences(keyTotals(printed4.filter((r) => r.window_start === iso(H18))), wordCounts(later))).toEqual([]);
    const log = await publications(db);
    expect(log.slice(0, 3)).toEqual(before);
    expect(log.slice(3).map((p) => [p.seq, p.window_start, p.window_end, p.revision, p.final])).toEqual([
      [4, H16, H17, 4, 1],
      [5, H18, H18 + 3_600_000, 1, 0],
    ]);
    expect(countDifferences(rowsOf(log[3]!), revisions[2]!)).toEqual([]);
    expect(countDifferences(rowsOf(log[4]!), wordCounts(later))).toEqual([]);
    expect(windowsInDatabase(db)).toEqual([H16, H18]);

    const finals = watchPublications(await watched(db, ['--final']));
    expect(finals.map((p) => [p.seq, p.start, p.revision, p.final])).toEqual([[4, iso(H16), 4, true]]);
    expect(countDifferences(finals[0]!.rows, revisions[2]!)).toEqual([]);
    expect(watchPublications(await watched(db)).map((p) => [p.seq, p.revision, p.final])).toEqual([
      [1, 1, false],
      [2, 2, false],
      [3, 3, false],
      [4, 4, true],
      [5, 1, false],
    ]);

    const q4 = await queried(db);
    expect(new Set(q4.map((r) => `${r.window_start} ${r.state}`))).toEqual(
      new Set([`${iso(H16)} final`, `${iso(H18)} provisional`]),
    );
    expect(countDifferences(keyTotals(q4.filter((r) => r.window_start === iso(H16))), revisions[2]!)).toEqual([]);
    expect(countDifferences(keyTotals(q4.filter((r) => r.window_start === iso(H18))), wordCounts(later))).toEqual([]);
    // The other formats say it too: tsv's trailing state column.
    const tsvStates = new Set(
      (await runCliOk(['query', '--db', db, '--format', 'tsv'])).stdout
        .trimEnd()
        .split('\n')
        .map((l) => `${l.split('\t')[0]} ${l.split('\t')[4]}`),
    );
    expect(tsvStates).toEqual(new Set([`${iso(H16)} final`, `${iso(H18)} provisional`]));

    const st4 = await status(db);
    expect(st4.jobs[0]).toMatchObject({
      records: total(wordCounts(written + later)),
      late: 0,
      open_windows: 0,
      provisional_windows: 1,
      finalized_windows: 1,
    });
    expect(integrityCheck(db)).toBe('ok');
  });

  it('a live worker whose clock passes the end of a provisional window publishes it final while it runs', async () => {
    const db = join(tmp.dir, 'live.db');
    const H16 = Date.parse('2026-05-04T16:00:00Z');
    const H17 = H16 + 3_600_000;
    const first = 'a b a\n';
    const env = { STATESYNC_NOW: '2026-05-04T16:40:00Z' };
    expectExit(await runCli(['count', '--db', db, '--window', '1h', '--quiet'], { input: first, env }), 0);
    // A tail -F | statesync worker started a second before 17:00, its stdin open and quiet.
    const live = spawnCli(['count', '--db', db, '--window', '1h', '--commit-interval', '50ms', '--format', 'json'], {
      env: { STATESYNC_NOW: '2026-05-04T16:59:59Z' },
    });
    const liveDone = collect(live, 20_000);
    await waitFor(
      'the 16:00 window published final',
      () => {
        const rows = peekDb(db, (d) => d.prepare('SELECT COUNT(*) FROM results').pluck().get() as number);
        return rows !== undefined && rows >= 2 ? true : undefined;
      },
      15_000,
      20,
    );
    const log = await publications(db);
    expect(live.exitCode, 'published by the running worker').toBeNull();
    expect(log.map((p) => [p.seq, p.window_start, p.window_end, p.revision, p.final])).toEqual([
      [1, H16, H17, 1, 0],
      [2, H16, H17, 2, 1],
    ]);
    expect(countDifferences(rowsOf(log[1]!), wordCounts(first)), 'the same rows, now final').toEqual([]);

    // What it reads now belongs to 17:00, published provisional when its input ends.
    const second = 'c a\n';
    live.stdin.end(second);
    const r = await liveDone;
    expectExit(r, 0);
    expect(r.stderr).toBe('');
    const after = await publications(db);
    expect(after.slice(0, 2)).toEqual(log);
    expect(after.slice(2).map((p) => [p.seq, p.window_start, p.revision, p.final])).toEqual([[3, H17, 1, 0]]);
    expect(countDifferences(rowsOf(after[2]!), wordCounts(second))).toEqual([]);
    expect(watchPublications(await watched(db, ['--final'])).map((p) => [p.seq, p.start, p.revision])).toEqual([[2, iso(H16), 2]]);
    expect((await status(db)).jobs[0]).toMatchObject({ records: 5, late: 0, provisional_windows: 1, finalized_windows: 1 });
  });
});

// ---------------------------------------------------------------------------
// 2. Event time: amended while provisional, late once final
// ---------------------------------------------------------------------------

describe('event time: a window an earlier run published at its end', () => {
  it('is amended by a later run, published final once the watermark passes its end, then a record of it is late', async () => {
    const db = join(tmp.dir, 'event.db');
    const file = join(tmp.dir, 'events.log');
    const late = join(tmp.dir, 'late.txt');
    const args = ['count', file, '--db', db, '--key', 'field=2', '--time', 'field=1', '--window', '1m', '--format', 'json'];
    const M = Date.parse('2026-05-04T12:05:00Z');
    const s = M / 1000;
    const line = (sec: number, key: string) => `${sec} ${key}\n`;
    const keysOf = (text: string) => {
      const m = new Map<string, number>();
      for (const l of text.split('\n')) if (l !== '') m.set(l.split(' ')[1]!, (m.get(l.split(' ')[1]!) ?? 0) + 1);
      return m;
    };

    // Run 1: up to the middle of minute M (and one record of the minute before).
    const run1 = line(s - 50, 'x') + line(s + 10, 'a') + line(s + 20, 'b') + line(s + 30, 'a');
    await writeFile(file, run1);
    const r1 = await runCli(args);
    expectExit(r1, 0);
    expect(printedMarks(r1.stdout)).toEqual(new Set([`${iso(M - 60_000)} r1 final`, `${iso(M)} r1 provisional`]));
    let log = await publications(db);
    expect(log.map((p) => [p.seq, p.window_start, p.revision, p.final])).toEqual([
      [1, M - 60_000, 1, 1], // its end is behind the watermark (M+30s): final
      [2, M, 1, 0], // published at the end of input, before the watermark passed its end
    ]);
    const inM1 = keysOf(run1.split('\n').slice(1).join('\n'));
    expect(countDifferences(rowsOf(log[1]!), inM1)).toEqual([]);
    expect(countDifferences(rowsOf(log[0]!), new Map([['x', 1]]))).toEqual([]);

    // Run 2, the file grown by records of minute M only: amended as revision 2, nothing late.
    const run2 = line(s + 40, 'a') + line(s + 59, 'c') + line(s + 5, 'b');
    await appendFile(file, run2);
    const r2 = await runCli(args);
    expectExit(r2, 0);
    expect(r2.stderr).not.toMatch(/late/);
    const inM2 = addCounts(new Map(inM1), keysOf(run2));
    log = await publications(db);
    expect(log.map((p) => [p.seq, p.window_start, p.revision, p.final])).toEqual([
      [1, M - 60_000, 1, 1],
      [2, M, 1, 0],
      [3, M, 2, 0],
    ]);
    expect(countDifferences(rowsOf(log[2]!), inM2)).toEqual([]);
    expect(countDifferences(keyTotals(parseJsonLines(r2.stdout)), inM2)).toEqual([]);
    expect(printedMarks(r2.stdout)).toEqual(new Set([`${iso(M)} r2 provisional`]));
    expect((await status(db)).jobs[0]).toMatchObject({ late: 0, records: 7, provisional_windows: 1, finalized_windows: 1 });

    // Run 3: one more record of M, then records past M's end: M final with the new rows (revision 3).
    const run3 = line(s + 50, 'a') + line(s + 61, 'y') + line(s + 75, 'y');
    await appendFile(file, run3);
    const r3 = await runCli(args);
    expectExit(r3, 0);
    expect(r3.stderr).not.toMatch(/late/);
    expect(printedMarks(r3.stdout)).toEqual(new Set([`${iso(M)} r3 final`, `${iso(M + 60_000)} r1 provisional`]));
    const inM3 = addCounts(new Map(inM2), new Map([['a', 1]]));
    log = await publications(db);
    expect(log.map((p) => [p.seq, p.window_start, p.revision, p.final])).toEqual([
      [1, M - 60_000, 1, 1],
      [2, M, 1, 0],
      [3, M, 2, 0],
      [4, M, 3, 1],
      [5, M + 60_000, 1, 0],
    ]);
    expect(countDifferences(rowsOf(log[3]!), inM3)).toEqual([]);
    expect(countDifferences(rowsOf(log[4]!), new Map([['y', 2]]))).toEqual([]);
    const finals = watchPublications(await watched(db, ['--final']));
    expect(finals.map((p) => [p.seq, p.start, p.revision])).toEqual([
      [1, iso(M - 60_000), 1],
      [4, iso(M), 3],
    ]);

    // Run 4: a record of M, now final: late, counted as such, M unchanged.
    await appendFile(file, line(s + 15, 'a'));
    const r4 = await runCli([...args, '--late-output', late]);
    expectExit(r4, 0);
    expect(r4.stderr).toMatch(/\b1 late record\b/);
    expect(r4.stdout, 'nothing to publish').toBe('');
    expect(await readFile(late, 'utf8')).toBe(line(s + 15, 'a'));
    expect(await publications(db)).toEqual(log);
    const st = await status(db);
    expect(st.jobs[0]).toMatchObject({ late: 1, records: 10, open_windows: 0, provisional_windows: 1, finalized_windows: 2 });
    const q = await queried(db);
    expect(countDifferences(keyTotals(q.filter((r) => r.window_start === iso(M))), inM3)).toEqual([]);
    expect(new Set(q.map((r) => `${r.window_start} ${r.state}`))).toEqual(
      new Set([`${iso(M - 60_000)} final`, `${iso(M)} final`, `${iso(M + 60_000)} provisional`]),
    );
    expect(integrityCheck(db)).toBe('ok');
  });
});

// ---------------------------------------------------------------------------
// 3. Two workers: one finishes first, the other keeps adding
// ---------------------------------------------------------------------------

interface WorkerRow {
  readonly pid: number;
  readonly state: string;
}

async function waitForRunning(db: string, count: number): Promise<void> {
  await waitFor(
    `${count} running workers`,
    () => {
      const n = peekDb(db, (d) => (d.prepare(`SELECT pid, state FROM workers WHERE state = 'running'`).all() as WorkerRow[]).length);
      return n !== undefined && n >= count ? true : undefined;
    },
    15_000,
    20,
  );
}

function sourceOffset(db: string, source: string): number | undefined {
  return peekDb(db, (d) => (d.prepare('SELECT offset FROM sources WHERE source = ?').pluck().get(source) as number | undefined) ?? undefined);
}

describe('two workers in one hour window, one finishes first', () => {
  it('the one still live holds the window; it publishes A and B together when it ends; a third run amends it', async () => {
    const db = join(tmp.dir, 'two.db');
    const env = { STATESYNC_NOW: '2026-05-04T10:10:00Z' };
    const H10 = Date.parse('2026-05-04T10:00:00Z');
    const args = (source: string) => ['count', '--db', db, '--source', source, '--window', '1h', '--commit-interval', '50ms', '--format', 'json'];
    const random = seededRandom(0x13_0003);

    const b = spawnCli(args('b'), { env });
    const bDone = collect(b, 30_000);
    await waitForRunning(db, 1);
    const a = spawnCli(args('a'), { env });
    const aDone = collect(a, 30_000);
    await waitForRunning(db, 2);

    const aText = smallText(random, 4000);
    const bText1 = smallText(random, 3000);
    const bText2 = smallText(random, 3000);
    b.stdin.write(bText1);
    a.stdin.end(aText);
    const ra = await aDone;
    expectExit(ra, 0);
    // B is live and its watermark is nowhere near 11:00: A publishes nothing.
    expect(ra.stdout).toBe('');
    await waitFor('B to commit its first lines', () => (sourceOffset(db, 'b') === Buffer.byteLength(bText1) ? true : undefined), 10_000);
    expect(b.exitCode).toBeNull();
    expect(await publications(db)).toEqual([]);
    const open = await queried(db);
    expect(new Set(open.map((r) => `${r.window_start} ${r.state}`))).toEqual(new Set([`${iso(H10)} open`]));
    const soFar = addCounts(wordCounts(aText), wordCounts(bText1));
    expect(countDifferences(keyTotals(open), soFar)).toEqual([]);
    expect((await runCliOk(['watch', '--db', db, '--format', 'json'])).stdout).toBe('');

    // B keeps adding, then ends: the last live worker publishes the window provisional, A's and B's lines.
    b.stdin.end(bText2);
    const rb = await bDone;
    expectExit(rb, 0);
    const both = addCounts(new Map(soFar), wordCounts(bText2));
    expect(countDifferences(keyTotals(parseJsonLines(rb.stdout)), both)).toEqual([]);
    expect(printedMarks(rb.stdout)).toEqual(new Set([`${iso(H10)} r1 provisional`]));
    let log = await publications(db);
    expect(log.map((p) => [p.seq, p.window_start, p.window_end, p.revision, p.final])).toEqual([[1, H10, H10 + 3_600_000, 1, 0]]);
    expect(countDifferences(rowsOf(log[0]!), both)).toEqual([]);

    // A third run in the same hour amends it: revision 2, everything.
    const cText = smallText(random, 2000);
    const rc = await runCli(args('c'), { env: { STATESYNC_NOW: '2026-05-04T10:20:00Z' }, input: cText });
    expectExit(rc, 0);
    expect(printedMarks(rc.stdout)).toEqual(new Set([`${iso(H10)} r2 provisional`]));
    const all = addCounts(new Map(both), wordCounts(cText));
    log = await publications(db);
    expect(log.map((p) => [p.seq, p.window_start, p.revision, p.final])).toEqual([
      [1, H10, 1, 0],
      [2, H10, 2, 0],
    ]);
    expect(countDifferences(rowsOf(log[1]!), all)).toEqual([]);
    const w = watchPublications(await watched(db));
    expect(w.map((p) => [p.seq, p.start, p.revision, p.final])).toEqual([
      [1, iso(H10), 1, false],
      [2, iso(H10), 2, false],
    ]);
    expect(countDifferences(w[0]!.rows, both)).toEqual([]);
    expect(countDifferences(w[1]!.rows, all)).toEqual([]);
    const st = await status(db);
    expect(st.jobs[0]).toMatchObject({ records: total(all), late: 0, open_windows: 0, provisional_windows: 1, finalized_windows: 0 });
  });
});

// ---------------------------------------------------------------------------
// 4. SIGKILL sweep: two workers per round over growing files, one hour window
// ---------------------------------------------------------------------------

/** Where a run is killed: after a delay from its start, once it committed a fraction of what is left, or once it committed it all. */
type Kill =
  | { readonly when: 'early'; readonly delayMs: number }
  | { readonly when: 'mid'; readonly fraction: number; readonly jitterMs: number }
  | { readonly when: 'end'; readonly jitterMs: number };

/**
 * A file's corpus with its own key space: generateWordCorpus's words all start
 * with `v`, so with every `v` replaced by the file's tag each key starts with
 * it, and a publication's rows split back into per-file counts.
 */
function taggedCorpus(random: () => number, bytes: number, tag: 'p' | 'q'): Buffer {
  return Buffer.from(generateWordCorpus(random, bytes, 1500).toString('utf8').replaceAll('v', tag), 'utf8');
}

/**
 * The counts of the prefix of `data` ending at a line end with exactly
 * `words` words, for each requested word count (undefined where no line end
 * has that many words before it: a publication that is not a prefix).
 */
function prefixCounts(data: Buffer, wanted: readonly number[]): Map<number, Map<string, number> | undefined> {
  const out = new Map<number, Map<string, number> | undefined>(wanted.map((n) => [n, undefined]));
  const remaining = new Set(wanted);
  const counts = new Map<string, number>();
  let words = 0;
  if (remaining.delete(0)) out.set(0, new Map());
  let lineStart = 0;
  for (let i = 0; i < data.length && remaining.size > 0; i++) {
    if (data[i] !== 0x0a) continue;
    for (const w of data.subarray(lineStart, i + 1).toString('utf8').split(/[ \t\n\r\v\f]+/)) {
      if (w.length === 0) continue;
      counts.set(w, (counts.get(w) ?? 0) + 1);
      words++;
    }
    lineStart = i + 1;
    if (remaining.delete(words)) out.set(words, new Map(counts));
  }
  return out;
}

describe('SIGKILL sweep over growing files in one hour window', () => {
  it('every (window, revision) published once, seq gapless, each revision a complete prefix, the latest exact', async () => {
    const db = join(tmp.dir, 'sweep.db');
    const files = [join(tmp.dir, 'sweep-p.log'), join(tmp.dir, 'sweep-q.log')];
    const tags = ['p', 'q'] as const;
    const H14 = Date.parse('2026-05-04T14:00:00Z');
    const random = seededRandom(0x13_0004);
    const ROUNDS = 4;
    const data = [Buffer.alloc(0), Buffer.alloc(0)];
    for (const f of files) await writeFile(f, '');

    // The plan, drawn up front so the run is the same whatever the scheduling: per round and
    // file, the kills its runs get before one is left to finish.
    const plan: Kill[][][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      plan.push(
        [0, 1].map(() => {
          const kills: Kill[] = [];
          const n = 1 + Math.floor(random() * 2); // 1-2 kills
          for (let k = 0; k < n; k++) {
            const roll = random();
            if (roll < 0.2) kills.push({ when: 'early', delayMs: Math.floor(random() * 250) });
            else if (roll < 0.65) kills.push({ when: 'mid', fraction: 0.05 + random() * 0.5, jitterMs: Math.floor(random() * 5) });
            else kills.push({ when: 'end', jitterMs: Math.floor(random() * 8) });
          }
          return kills;
        }),
      );
    }
    const growth = Array.from({ length: ROUNDS }, () => [0, 1].map(() => 1_500_000 + Math.floor(random() * 1_500_000)));

    // Each run's clock starts a minute after the previous one's: all inside 14:00-15:00.
    let minute = 0;
    const nextNow = () => {
      expect(minute).toBeLessThan(59);
      return iso(H14 + ++minute * 60_000);
    };
    /** File i's committed offset: 0 before the database or its source row exists, undefined while unreadable. */
    const offsetOf = (i: number): number | undefined => {
      if (!existsSync(db)) return 0;
      const sql = 'SELECT offset FROM sources WHERE source LIKE ?';
      return peekDb(db, (d) => (d.prepare(sql).pluck().get(`%${files[i]!}#%`) as number | undefined) ?? 0);
    };
    const committed = (i: number) => waitFor(`the offset of file ${i}`, () => offsetOf(i));

    let kills = 0;
    let midFile = 0;
    /** Kills after a run's last commit, with records no publication holds yet (logged: timing decides). */
    let unpublished = 0;
    const unpublishedCommits = () =>
      peekDb(db, (d) => {
        const records = d.prepare('SELECT records FROM jobs').pluck().get() as number | undefined;
        const rows = d.prepare('SELECT rows FROM results ORDER BY seq DESC LIMIT 1').pluck().get() as string | undefined;
        const published = rows === undefined ? 0 : total(new Map(JSON.parse(rows) as Array<[string, number]>));
        return records !== undefined && records > published;
      }) === true;
    const landed = { early: 0, mid: 0, end: 0 };
    /** Runs `count FILE` on file i until one run finishes, killing runs as the plan says. */
    const runToCompletion = async (i: number, planned: readonly Kill[]): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const start = await committed(i);
        const child: ChildProcessWithoutNullStreams = spawnCli(
          ['count', files[i]!, '--db', db, '--window', '1h', '--commit-interval', '10ms', '--quiet'],
          { env: { STATESYNC_NOW: nextNow() } },
        );
        const done = collect(child, 30_000);
        child.stdin.end();
        const kill = planned[attempt];
        if (kill !== undefined) {
          if (kill.when === 'early') await sleep(kill.delayMs);
          else {
            const size = data[i]!.length;
            const target = kill.when === 'mid' ? Math.max(start + 1, Math.floor(start + (size - start) * kill.fraction)) : size;
            await waitFor(
              `file ${i} to commit past ${target}`,
              () => (child.exitCode !== null || (offsetOf(i) ?? 0) >= target ? true : undefined),
              20_000,
              5,
            );
            await sleep(kill.jitterMs);
          }
          child.kill('SIGKILL');
        }
        const result = await done;
        const offset = await committed(i);
        expect(offset, 'a committed offset never goes backwards').toBeGreaterThanOrEqual(start);
        if (offset > 0) expect(data[i]![offset - 1], `offset ${offset} of file ${i} is at a line end`).toBe(0x0a);
        if (result.signal === 'SIGKILL') {
          kills++;
          landed[kill!.when]++;
          if (offset > start && offset < data[i]!.length) midFile++;
          if (offset === data[i]!.length && unpublishedCommits()) unpublished++;
          continue;
        }
        expectExit(result, 0);
        expect(result.stderr).not.toMatch(/late/);
        expect(offset).toBe(data[i]!.length);
        return;
      }
    };
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of [0, 1]) {
        const more = taggedCorpus(random, growth[r]![i]!, tags[i]!);
        await appendFile(files[i]!, more);
        data[i] = Buffer.concat([data[i]!, more]);
      }
      // Both files' workers at once, racing to publish the window they share.
      await Promise.all([0, 1].map((i) => runToCompletion(i, plan[r]![i]!)));
    }
    console.info(`revision sweep: ${kills} kills (${JSON.stringify(landed)}), ${midFile} mid-file after progress, ${unpublished} after the last commit with it unpublished`);
    expect(kills).toBeGreaterThanOrEqual(6);
    expect(midFile).toBeGreaterThanOrEqual(2);

    // The log: seq 1..n, one window, revisions 1..k each once, all provisional.
    const log = await publications(db);
    expect(log.map((p) => p.seq)).toEqual(log.map((_, k) => k + 1));
    expect(new Set(log.map((p) => `${p.window_start}/${p.window_end}`))).toEqual(new Set([`${H14}/${H14 + 3_600_000}`]));
    expect(log.map((p) => p.revision)).toEqual(log.map((_, k) => k + 1));
    expect(log.every((p) => p.final === 0)).toBe(true);
    expect(log.length).toBeGreaterThanOrEqual(ROUNDS);

    // Each revision is complete: per file, exactly the words of a prefix of it ending at a line
    // end, never less than the revision before (no record lost, none counted twice, ever).
    const perFile = log.map((p) => {
      const rows = rowsOf(p);
      return tags.map((tag) => new Map([...rows].filter(([k]) => k.startsWith(tag))));
    });
    for (const [k, p] of perFile.entries()) {
      expect(p[0]!.size + p[1]!.size, `keys of revision ${k + 1}`).toBe(rowsOf(log[k]!).size);
      // A provisional window is published again only when it changed (counts only grow).
      if (k > 0) expect(total(p[0]!) + total(p[1]!), `revision ${k + 1} adds records`).toBeGreaterThan(total(perFile[k - 1]![0]!) + total(perFile[k - 1]![1]!));
    }
    // The ground truth comes out of the same pass: the prefix of each whole file.
    const truth = new Map<string, number>();
    for (const i of [0, 1]) {
      const wanted = perFile.map((p) => total(p[i]!));
      const whole = wordsBefore(data[i]!, data[i]!.length);
      const prefixes = prefixCounts(data[i]!, [...wanted, whole]);
      for (const [k, p] of perFile.entries()) {
        const prefix = prefixes.get(wanted[k]!);
        expect(prefix, `revision ${k + 1}: ${wanted[k]} words of file ${i} are no prefix of it`).toBeDefined();
        expect(countDifferences(p[i]!, prefix!), `revision ${k + 1}, file ${i}`).toEqual([]);
        if (k > 0) expect(wanted[k]!).toBeGreaterThanOrEqual(wanted[k - 1]!);
      }
      expect(prefixes.get(whole), `file ${i} counted whole`).toBeDefined();
      addCounts(truth, prefixes.get(whole)!);
    }

    // The latest revision is the exact count of both files; watch says the same, each publication once.
    expect(countDifferences(rowsOf(log[log.length - 1]!), truth)).toEqual([]);
    const w = watchPublications(await watched(db));
    expect(w.map((p) => [p.seq, p.revision])).toEqual(log.map((p) => [p.seq, p.revision]));
    expect(countDifferences(w[w.length - 1]!.rows, truth)).toEqual([]);
    const q = await queried(db);
    expect(new Set(q.map((r) => r.state))).toEqual(new Set(['provisional']));
    expect(countDifferences(keyTotals(q), truth)).toEqual([]);
    const st = await status(db);
    expect(st.jobs[0]).toMatchObject({ records: total(truth), late: 0, open_windows: 0, provisional_windows: 1 });

    // An hour later a run with nothing new makes it final: the same rows, the next revision.
    const last = await runCli(['count', files[0]!, '--db', db, '--window', '1h', '--quiet'], {
      env: { STATESYNC_NOW: '2026-05-04T15:30:00Z' },
    });
    expectExit(last, 0);
    const after = await publications(db);
    expect(after.slice(0, log.length)).toEqual(log);
    expect(after.slice(log.length).map((p) => [p.seq, p.window_start, p.revision, p.final])).toEqual([
      [log.length + 1, H14, log.length + 1, 1],
    ]);
    expect(countDifferences(rowsOf(after[log.length]!), truth)).toEqual([]);
    expect(integrityCheck(db)).toBe('ok');
  }, 60_000);
});
