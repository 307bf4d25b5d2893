// A worker's own committed deltas, held merged in memory: the store excludes them
// when that worker finalizes, and lets it collapse them into one row at its end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeltaColumns, ResultRow } from '../../src/model.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import { reducerFor } from '../../src/reducers/reducers.js';
import { mergeCountsInto, summarizerFor } from '../../src/reducers/summarize.js';
import { WordCountTable } from '../../src/reducers/word-count-table.js';
import { orderRows } from '../../src/sinks/order.js';
import { StateStore, type LocalWindow, type Liveness } from '../../src/state/store.js';

const JOB = 'default';
const W0 = 1_764_151_200_000;
const W1 = W0 + 5_000;
const summarize = summarizerFor(reducerFor('count'));
const liveness: Liveness = { host: 'test-host', timeoutMs: 60_000, pidAlive: () => true };

function counts(entries: Record<string, number>): DeltaColumns {
  const table = new PartialTable(false);
  for (const [key, count] of Object.entries(entries)) table.mergePartial(key, count, 0, 0, Infinity, -Infinity);
  return table;
}

let dir: string;
let store: StateStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statesync-held-'));
  store = StateStore.open(join(dir, 'state.db'));
  store.ensureJob(JOB, { reduction: 'count', window: '5s', key: 'word' }, W0);
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function commit(start: number, entries: Record<string, number>): number | undefined {
  const records = Object.values(entries).reduce((a, b) => a + b, 0);
  const outcome = store.commit({
    job: JOB,
    now: W0,
    windows: [{ start, end: start + 5_000, delta: counts(entries) }],
    sources: [],
    records,
    rejected: 0,
    late: 0,
  });
  return outcome.deltaIds.get(start);
}

function register(id: string): void {
  store.registerWorker({ id, job: JOB, pid: process.pid, host: 'test-host', watermark: W1 }, W0);
}

/** A table holding `text`'s words as settled totals, the way a worker holds a window after committing it. */
function heldTable(text: string): WordCountTable {
  const table = new WordCountTable();
  const bytes = Buffer.from(text);
  table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
  table.settle();
  return table;
}

describe('commit', () => {
  it('names the delta row written for each window, and none for a finalized one', () => {
    const first = commit(W0, { a: 1 });
    const second = commit(W0, { a: 2 });
    expect(first).toBeTypeOf('number');
    expect(second).toBeGreaterThan(first!);
    store.finalizeUpTo(JOB, W1, summarize, W1);
    expect(commit(W0, { a: 5 })).toBeUndefined();
  });
});

describe('finalizeReady with a window held in memory', () => {
  it('merges only the other deltas into what the worker holds', () => {
    register('w1');
    const mine = [commit(W0, { to: 2, be: 2 })!, commit(W0, { or: 1 })!];
    commit(W0, { to: 1, not: 1 }); // another worker's
    const seen: DeltaColumns[] = [];
    const table = heldTable('to be or to be');
    const local = (start: number): LocalWindow | null =>
      start !== W0
        ? null
        : {
            workerId: 'w1',
            deltaIds: mine,
            mergeRest: (others) => {
              const rest = [...others];
              seen.push(...rest);
              table.countTotals();
              return mergeCountsInto(table, rest);
            },
          };
    const [published] = store.finalizeReady(JOB, 'w1', liveness, summarize, W1, local);
    expect(seen.map((d) => d.keys.slice(0, d.size))).toEqual([['to', 'not']]);
    expect(orderRows(published!.rows)).toEqual(orderRows([['to', 3], ['be', 2], ['or', 1], ['not', 1]]));
    expect(orderRows(store.readFinal(JOB)[0]!.rows)).toEqual(orderRows(published!.rows));
  });

  it('ignores what the worker holds once its registration is gone (a snapshot restore drops them all)', () => {
    const mine = [commit(W0, { a: 1 })!];
    commit(W0, { b: 1 });
    let called = false;
    const local = (): LocalWindow => ({
      workerId: 'not-registered',
      deltaIds: mine,
      mergeRest: () => {
        called = true;
        return { size: 1, rows: () => [['wrong', 99]] };
      },
    });
    const [published] = store.finalizeReady(JOB, null, liveness, summarize, W1, local);
    expect(called).toBe(false);
    expect(orderRows(published!.rows)).toEqual(orderRows([['a', 1], ['b', 1]]));
  });
});

describe('collapseDeltas', () => {
  const window = (entries: Record<string, number>) => ({ start: W0, end: W1, delta: counts(entries) });
  const openCommits = () => store.status().openWindows.find((w) => w.start === W0)?.commits;
  const finalRows = (): ResultRow[] => orderRows(store.finalizeUpTo(JOB, W1, summarize, W1)[0]!.rows);

  it("replaces the worker's rows by one holding their sum; the result does not change", () => {
    register('w1');
    const mine = [commit(W0, { a: 1, b: 1 })!, commit(W0, { a: 2 })!];
    commit(W0, { a: 10 });
    store.collapseDeltas(JOB, window({ a: 3, b: 1 }), 'w1', mine, W0);
    expect(openCommits()).toBe(2);
    expect(finalRows()).toEqual(orderRows([['a', 13], ['b', 1]]));
  });

  it('does nothing when one of the rows is gone or the worker is not registered', () => {
    register('w1');
    const mine = [commit(W0, { a: 1 })!, commit(W0, { a: 1 })!];
    store.collapseDeltas(JOB, window({ a: 2 }), 'w1', [...mine, mine[1]! + 100], W0);
    expect(openCommits()).toBe(2);
    store.collapseDeltas(JOB, window({ a: 2 }), 'someone-else', mine, W0);
    expect(openCommits()).toBe(2);
    expect(finalRows()).toEqual([['a', 2]]);
  });
});

describe('WordCountTable totals', () => {
  it('settle() adds the counts to the totals; countTotals() makes them the counts again', () => {
    const table = new WordCountTable(2);
    const feed = (text: string) => {
      const bytes = Buffer.from(text);
      table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    };
    feed('a b a\n');
    expect(table.isSettled()).toBe(false);
    table.settle();
    expect(table.isSettled()).toBe(true);
    feed('c a d e f g h\n'); // new keys after a settle grow the totals too
    table.settle();
    expect(table.rows().every(([, n]) => n === 0)).toBe(true);
    table.countTotals();
    expect(orderRows(table.rows())).toEqual(orderRows([['a', 3], ['b', 1], ['c', 1], ['d', 1], ['e', 1], ['f', 1], ['g', 1], ['h', 1]]));
  });

  it('countTotals() refuses a table with counts not yet settled', () => {
    const table = new WordCountTable();
    const bytes = Buffer.from('x\n');
    table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    expect(() => table.countTotals()).toThrow(/unsettled/);
  });
});
