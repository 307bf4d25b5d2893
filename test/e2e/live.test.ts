/**
 * A live stream on stdin: processing-time windows fire on their timer while
 * stdin stays open, and SIGINT / SIGTERM stop the process cleanly (commit,
 * finalize, print, exit 130 / 143), with `--source` making stdin replayable.
 */
import { describe, expect, it } from 'vitest';
import {
  collect,
  countDifferences,
  parseJsonLines,
  queryTotals,
  runCli,
  seededRandom,
  spawnCli,
  status,
  total,
  useTempDir,
  waitFor,
  waitUntilIdle,
  waitUntilRead,
  wordCounts,
} from './helpers.js';

const tmp = useTempDir('live');

interface Arrival {
  readonly at: number;
  readonly start: number;
  readonly end: number;
  readonly key: string;
  readonly value: string;
}

describe('processing-time windows fire on a timer', () => {
  it('prints each window shortly after its end while stdin is still open', async () => {
    const child = spawnCli(['count', '--window', '1s']);
    const done = collect(child);
    const arrivals: Arrival[] = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const at = Date.now();
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const [start, end, key, value] = line.split('\t');
        arrivals.push({ at, start: Date.parse(start!), end: Date.parse(end!), key: key!, value: value! });
      }
    });

    const firstWrite = Date.now();
    child.stdin.write('a b a\n');
    await waitFor('the first window', () => (arrivals.length >= 2 ? true : undefined), 4000);
    const first = arrivals.slice(0, 2);
    expect(first.map((r) => [r.key, r.value])).toEqual([
      ['a', '2'],
      ['b', '1'],
    ]);
    const w1 = first[0]!;
    expect(first[1]!.start).toBe(w1.start);
    expect(w1.end - w1.start).toBe(1000);
    expect(w1.start + 1000).toBeGreaterThan(firstWrite); // the window of the write, not an earlier one
    // Printed by the timer: not before the window ended, and soon after, with stdin still open.
    expect(w1.at).toBeGreaterThanOrEqual(w1.end);
    expect(w1.at - w1.end).toBeLessThan(1000);
    expect(child.stdin.writableEnded).toBe(false);
    expect(child.exitCode).toBeNull();

    // More input, now in a later window: it comes as its own window, later.
    const secondWrite = Date.now();
    child.stdin.write('c c d\n');
    await waitFor('the second window', () => (arrivals.length >= 4 ? true : undefined), 4000);
    const second = arrivals.slice(2, 4);
    expect(second.map((r) => [r.key, r.value])).toEqual([
      ['c', '2'],
      ['d', '1'],
    ]);
    const w2 = second[0]!;
    expect(second[1]!.start).toBe(w2.start);
    expect(w2.start).toBeGreaterThanOrEqual(w1.end);
    expect(w2.at).toBeGreaterThan(secondWrite);
    expect(w2.at).toBeGreaterThanOrEqual(w2.end);
    expect(w2.at - w2.end).toBeLessThan(1000);
    expect(child.exitCode).toBeNull();

    child.stdin.end();
    const result = await done;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(arrivals).toHaveLength(4); // nothing printed twice, nothing left over
  });
});

/** The rows a stream command prints in tsv for the first revision of a window, in its order: value descending, then key ascending. */
function tsvRows(start: string, end: string, counts: ReadonlyMap<string, number>, final: boolean): string {
  return [...counts]
    .sort(([ka, va], [kb, vb]) => vb - va || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([key, value]) => `${start}\t${end}\t${key}\t${value}\t1\t${final}\n`)
    .join('');
}

describe('SIGINT and SIGTERM stop cleanly', () => {
  const text = 'to be or not to be\nthat is the question\nwhether tis nobler in the mind\n';

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s with stdin open: commits what was read, prints the open window, exits %i', async (signal, code) => {
    const db = tmp.path(`${signal}.db`);
    // A commit interval of an hour: whatever is in the database afterwards was committed by the stop.
    const child = spawnCli(['count', '--db', db, '--window', '1d', '--commit-interval', '1h'], {
      env: { STATESYNC_NOW: '2024-05-01T12:00:00Z' },
    });
    const done = collect(child);
    const baseline = await waitUntilIdle(child, db);
    child.stdin.write(text);
    await waitUntilRead(child, baseline, Buffer.byteLength(text));
    expect(child.exitCode).toBeNull();

    child.kill(signal);
    const result = await done;
    expect(result.signal).toBeNull();
    expect(result.exitCode).toBe(code);
    const counts = wordCounts(text);
    // The day has not ended: the window is published provisional, revision 1.
    expect(result.stdout).toBe(tsvRows('2024-05-01T00:00:00.000Z', '2024-05-02T00:00:00.000Z', counts, false));
    expect(result.stderr).not.toMatch(/error/i);

    const st = await status(db);
    expect(st.jobs[0]!.records).toBe(total(counts));
    // Stopped before the day's end: the window is published provisional, for a later run to amend.
    expect(st.jobs[0]!.open_windows).toBe(0);
    expect(st.jobs[0]!.provisional_windows).toBe(1);
    expect(st.jobs[0]!.finalized_windows).toBe(0);
    expect(st.sources.map((s) => [s.kind, s.offset])).toEqual([['stdin', Buffer.byteLength(text)]]);
    expect(countDifferences(await queryTotals(db), counts)).toEqual([]);
  });
});

describe('stdin with --source is a replayable stream', () => {
  /** About 40 KB of lines rich in multi-byte characters. */
  function makeText(): string {
    const random = seededRandom(77);
    const words = ['alpha', 'βeta', 'γάμμα', '日本', 'naïve', 'emoji😀', 'crème', 'x', 'ok', 'zebra'];
    let text = '';
    for (let i = 0; i < 1500; i++) {
      const n = 1 + Math.floor(random() * 6);
      const line: string[] = [];
      for (let j = 0; j < n; j++) line.push(words[Math.floor(random() * words.length)]!);
      text += line.join(' ') + (i % 9 === 0 ? '\r\n' : '\n');
    }
    return text;
  }

  /** Cuts the text in the middle of a line, and inside a multi-byte character. */
  function cutInHalf(bytes: Buffer): { half: Buffer; lineEnd: number } {
    let cut = Math.floor(bytes.length / 2);
    while ((bytes[cut]! & 0xc0) !== 0x80) cut++;
    expect(bytes[cut - 1]).not.toBe(0x0a);
    return { half: bytes.subarray(0, cut), lineEnd: bytes.lastIndexOf(0x0a, cut - 1) + 1 };
  }

  async function stopHalfway(db: string, bytes: Buffer, now: string): Promise<number> {
    const { half, lineEnd } = cutInHalf(bytes);
    const child = spawnCli(['count', '--db', db, '--source', 's1', '--window', '1d', '--commit-interval', '50ms', '--quiet'], {
      env: { STATESYNC_NOW: now },
    });
    const done = collect(child);
    const baseline = await waitUntilIdle(child, db);
    child.stdin.write(half);
    await waitUntilRead(child, baseline, half.length);
    child.kill('SIGTERM');
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(143);

    // The cut line is not counted: the committed offset is the end of the last whole line.
    const st = await status(db);
    expect(st.sources.map((s) => [s.source, s.kind, s.offset])).toEqual([['s1', 'stdin', lineEnd]]);
    expect(st.jobs[0]!.records).toBe(total(wordCounts(bytes.subarray(0, lineEnd).toString('utf8'))));
    return lineEnd;
  }

  async function rerunWhole(db: string, bytes: Buffer, now: string): Promise<void> {
    const result = await runCli(['count', '--db', db, '--source', 's1', '--window', '1d', '--commit-interval', '50ms', '--quiet'], {
      input: bytes,
      env: { STATESYNC_NOW: now },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    const st = await status(db);
    expect(st.sources.map((s) => [s.source, s.offset])).toEqual([['s1', bytes.length]]);
  }

  it('a rerun after SIGTERM, in a later window, skips what was committed: totals equal one count', async () => {
    const db = tmp.path('source-later.db');
    const text = makeText();
    const bytes = Buffer.from(text, 'utf8');
    await stopHalfway(db, bytes, '2024-05-01T12:00:00Z');
    await rerunWhole(db, bytes, '2024-05-02T12:00:00Z');

    const truth = wordCounts(text);
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
    const st = await status(db);
    expect(st.jobs[0]!.records).toBe(total(truth));
    expect(st.jobs[0]!.late).toBe(0);
  });

  it('a rerun after SIGTERM in the window the stop finalized: the rest goes to the next window, one exact count', async () => {
    const db = tmp.path('source-same.db');
    const text = makeText();
    const bytes = Buffer.from(text, 'utf8');
    await stopHalfway(db, bytes, '2024-05-01T12:00:00Z');
    const published = await finalRows(db);
    await rerunWhole(db, bytes, '2024-05-01T12:00:30Z');

    // The stop published the day's window early; the rerun's records, read inside that same
    // day, go to the next open window: nothing lost, nothing published changed.
    const truth = wordCounts(text);
    const st = await status(db);
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
    expect({ records: st.jobs[0]!.records, late: st.jobs[0]!.late }).toEqual({ records: total(truth), late: 0 });
    expect((await finalRows(db)).slice(0, published.length)).toEqual(published);
  });

  /** Finalized rows as `window key value` lines, in publication order. */
  async function finalRows(db: string): Promise<string[]> {
    const r = await runCli(['watch', '--db', db, '--format', 'json']);
    return parseJsonLines(r.stdout).map((row) => `${row.window_start} ${row.key} ${row.value}`);
  }
});
