/**
 * Provisional windows and revisions (issue 13), with real processes: a window
 * published early (an input ended, or its last live worker finished, before
 * the watermark passed its end) is amended by later records of the same
 * window and published again as the next revision, complete; once the
 * watermark passes its end it is published final and a record for it is late.
 * Every check is against counts the test computes itself, the publication log
 * (the `results` table), `watch`, `query` and `status`.
 */
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addCounts,
  collect,
  countDifferences,
  integrityCheck,
  parseJsonLines,
  peekDb,
  runCli,
  runCliOk,
  seededRandom,
  spawnCli,
  status,
  total,
  waitFor,
  wordCounts,
  useTempDir,
  expectExit,
} from './helpers.js';

import {
  type Publication,
  publications,
  rowsOf,
  keyTotals,
  watched,
  queried,
  watchPublications,
  windowsInDatabase,
  printedMarks,
  iso,
  smallText,
} from './revision-readers.js';

const tmp = useTempDir('revisions');

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
