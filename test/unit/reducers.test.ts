import { describe, expect, it } from 'vitest';
import type { DeltaColumns, ResultRow, RowValue } from '../../src/model.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import {
  PARTIAL_REDUCTION_NAMES,
  REDUCTION_NAMES,
  exactSum,
  reducerFor,
  twoSumAdd,
  type PartialAggregate,
  type Reducer,
  type PartialReductionName,
  type ResultValue,
} from '../../src/reducers/reducers.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import { compareRows, orderRows } from '../../src/sinks/order.js';
import { intBelow, seededRandom } from '../support/prng.js';

/** The summarizer's rows in display order (the summarizer itself leaves them unordered). */
const orderedSummary = (reducer: Reducer) => (parts: readonly DeltaColumns[]) => orderRows(summarizerFor(reducer)(parts).rows());

/** The partial of no records: what a worker with nothing for a key contributes. */
const EMPTY: PartialAggregate = { count: 0, sum: 0, sumLow: 0, min: Infinity, max: -Infinity };

/** One key's partial of `values`, added as the pipeline adds records (PartialTable.addValue). */
function partialOf(values: readonly number[]): PartialAggregate {
  const table = new PartialTable(true, 1);
  for (const v of values) table.addValue('k', v);
  return table.size === 0 ? EMPTY : table.partialAt(0);
}

/** Partials merged as a finalization merges deltas (PartialTable.mergePartial), in the order given. */
function mergeAll(parts: readonly PartialAggregate[]): PartialAggregate {
  const table = new PartialTable(true, 1);
  for (const p of parts) table.mergePartial('k', p.count, p.sum, p.sumLow, p.min, p.max);
  return table.size === 0 ? EMPTY : table.partialAt(0);
}

function reduceAll(name: PartialReductionName, values: readonly number[]): ResultValue {
  return reducerFor(name).result(partialOf(values));
}

/** A result that must be a plain number (everything but an integer sum beyond 2^53). */
function num(value: RowValue): number {
  expect(typeof value).toBe('number');
  return value as number;
}

const VALUES = [3, -1.5, 10, 0, 2.25, 10, -7];

describe('reducers: a partial of values, and its result', () => {
  it('knows exactly the seven reductions, five of partial aggregates and two of sketches', () => {
    expect([...REDUCTION_NAMES].sort()).toEqual(['avg', 'count', 'distinct', 'max', 'min', 'quantile', 'sum']);
    expect([...PARTIAL_REDUCTION_NAMES].sort()).toEqual(['avg', 'count', 'max', 'min', 'sum']);
    for (const name of REDUCTION_NAMES) expect(reducerFor(name, [0.5]).name).toBe(name);
    for (const name of REDUCTION_NAMES) expect(reducerFor(name, [0.5]).sketch?.name ?? null).toBe(PARTIAL_REDUCTION_NAMES.includes(name as 'count') ? null : name);
  });

  it('only count needs no value', () => {
    expect(REDUCTION_NAMES.filter((n) => reducerFor(n, [0.5]).needsValue)).toEqual(['sum', 'min', 'max', 'avg', 'quantile', 'distinct']);
  });

  it.each([
    ['count', 7],
    ['sum', 16.75],
    ['min', -7],
    ['max', 10],
    ['avg', 16.75 / 7],
  ] as const)('%s of %j is %d', (name, expected) => {
    expect(reduceAll(name, VALUES)).toBe(expected);
  });

  it('the empty partial is the identity of merge', () => {
    const five = partialOf([5]);
    expect(mergeAll([EMPTY, five])).toEqual(five);
    expect(mergeAll([five, EMPTY])).toEqual(five);
    expect(partialOf([])).toEqual(EMPTY);
  });

  it('a single value is its own sum, min, max and avg', () => {
    for (const name of ['sum', 'min', 'max', 'avg'] as const) expect(reduceAll(name, [-42.5])).toBe(-42.5);
    expect(reduceAll('count', [-42.5])).toBe(1);
  });

  it('count ignores the values themselves', () => {
    expect(reduceAll('count', [0, 0, 0])).toBe(3);
    expect(reduceAll('count', [1e300, -1e300])).toBe(2);
  });

  it('avg is exactly sum / count of the same partial', () => {
    const random = seededRandom(11);
    for (let round = 0; round < 100; round++) {
      const values = Array.from({ length: 1 + intBelow(random, 50) }, () => (random() - 0.5) * 1_000);
      expect(reduceAll('avg', values)).toBe(num(reduceAll('sum', values)) / num(reduceAll('count', values)));
    }
  });

  it('min and max handle all-negative and all-equal inputs', () => {
    expect(reduceAll('max', [-3, -2, -9])).toBe(-2);
    expect(reduceAll('min', [-3, -2, -9])).toBe(-9);
    expect(reduceAll('min', [4, 4, 4])).toBe(4);
    expect(reduceAll('max', [4, 4, 4])).toBe(4);
  });
});

describe('reducers: merge of partials equals reducing everything at once', () => {
  it.each([...PARTIAL_REDUCTION_NAMES])('%s, over random splits of random values', (name) => {
    const reducer = reducerFor(name);
    const random = seededRandom(name.length * 1000 + name.charCodeAt(0));
    for (let round = 0; round < 200; round++) {
      // Integers times a power of two keep sums exact whatever the order, so the comparison can be exact.
      const values = Array.from({ length: 1 + intBelow(random, 60) }, () => (intBelow(random, 2001) - 1000) / 4);
      const parts: PartialAggregate[] = [];
      let current: number[] = [];
      for (const v of values) {
        current.push(v);
        if (random() < 0.3) {
          parts.push(partialOf(current));
          current = [];
        }
      }
      parts.push(partialOf(current));
      // Some empty partials too, as a worker with nothing for the key would send.
      parts.splice(intBelow(random, parts.length + 1), 0, EMPTY);
      expect(reducer.result(mergeAll(parts))).toBe(reduceAll(name, values));
    }
  });
});

describe('PartialTable', () => {
  it('counts keys with increment and reads back as DeltaColumns', () => {
    const table = new PartialTable(false);
    for (const key of ['b', 'a', 'b', 'c', 'b', 'a']) table.increment(key);
    expect(table.size).toBe(3);
    expect(table.keys).toEqual(['b', 'a', 'c']);
    expect([...table.counts.subarray(0, 3)]).toEqual([3, 2, 1]);
    expect(table.sums).toBeNull();
    expect(table.sumLows).toBeNull();
    expect(table.mins).toBeNull();
    expect(table.maxs).toBeNull();
  });

  it('keeps count, sum, min and max per key with addValue', () => {
    const table = new PartialTable(true);
    table.addValue('x', 5);
    table.addValue('y', -1);
    table.addValue('x', -2);
    table.addValue('x', 10);
    expect(table.partialAt(0)).toEqual({ count: 3, sum: 13, sumLow: 0, min: -2, max: 10 });
    expect(table.partialAt(1)).toEqual({ count: 1, sum: -1, sumLow: 0, min: -1, max: -1 });
  });

  it('increment counts every key exactly once, including the key that makes the table grow', () => {
    const table = new PartialTable(false, 2);
    for (const key of ['a', 'b', 'c', 'd', 'e']) table.increment(key);
    expect(table.keys).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect([...table.counts.subarray(0, table.size)]).toEqual([1, 1, 1, 1, 1]);
  });

  it('works from an initial capacity of 0 or 1, for each way of adding', () => {
    for (const capacity of [0, 1]) {
      const counting = new PartialTable(false, capacity);
      const valued = new PartialTable(true, capacity);
      for (const key of ['a', 'b', 'a', 'c']) {
        counting.increment(key);
        valued.addValue(key, 2);
        valued.mergePartial(key, 1, 3, 0, 3, 3);
      }
      expect(counting.keys).toEqual(['a', 'b', 'c']);
      expect([...counting.counts.subarray(0, 3)]).toEqual([2, 1, 1]);
      expect(valued.partialAt(0)).toEqual({ count: 4, sum: 10, sumLow: 0, min: 2, max: 3 });
      expect(valued.partialAt(2)).toEqual({ count: 2, sum: 5, sumLow: 0, min: 2, max: 3 });
    }
  });

  it('stays exact through many growths, for each way of adding', () => {
    const random = seededRandom(21);
    const reference = new Map<string, { count: number; sum: number; min: number; max: number }>();
    const byIncrement = new PartialTable(false, 1);
    const byValue = new PartialTable(true, 1);
    const byMerge = new PartialTable(true, 1);
    for (let i = 0; i < 20_000; i++) {
      const key = `k${intBelow(random, 5_000)}${i % 7 === 0 ? '-with-a-long-suffix-漢字' : ''}`;
      const value = intBelow(random, 200) - 100;
      byIncrement.increment(key);
      byValue.addValue(key, value);
      byMerge.mergePartial(key, 2, value * 2, 0, value, value);
      const r = reference.get(key);
      if (r === undefined) reference.set(key, { count: 1, sum: value, min: value, max: value });
      else reference.set(key, { count: r.count + 1, sum: r.sum + value, min: Math.min(r.min, value), max: Math.max(r.max, value) });
    }
    for (const table of [byIncrement, byValue, byMerge]) expect(table.size).toBe(reference.size);
    const wrong: string[] = [];
    for (let slot = 0; slot < byValue.size; slot++) {
      const key = byValue.keys[slot]!;
      const r = reference.get(key)!;
      const viaValue = byValue.partialAt(slot);
      if (viaValue.count !== r.count || viaValue.sum !== r.sum || viaValue.sumLow !== 0 || viaValue.min !== r.min || viaValue.max !== r.max) {
        wrong.push(`addValue ${key}`);
      }
      const m = byMerge.partialAt(byMerge.keys.indexOf(key));
      if (m.count !== 2 * r.count || m.sum !== 2 * r.sum || m.sumLow !== 0 || m.min !== r.min || m.max !== r.max) {
        wrong.push(`mergePartial ${key}`);
      }
    }
    for (let slot = 0; slot < byIncrement.size; slot++) {
      const key = byIncrement.keys[slot]!;
      if (byIncrement.counts[slot] !== reference.get(key)!.count) {
        wrong.push(`increment ${key}: expected ${reference.get(key)!.count}, got ${byIncrement.counts[slot]}`);
      }
    }
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('a counting-only table merges counts and ignores sums', () => {
    const table = new PartialTable(false);
    table.mergePartial('k', 3, 99, 0.5, 1, 50);
    table.mergePartial('k', 4, 99, -0.25, -5, 60);
    expect(table.partialAt(0)).toEqual({ count: 7, sum: 0, sumLow: 0, min: Infinity, max: -Infinity });
    expect(table.sumLows).toBeNull();
  });

  it('keeps long and multi-byte keys intact (lone surrogates too)', () => {
    const table = new PartialTable(false);
    const keys = ['a-key-longer-than-thirteen-chars', '漢字漢字漢字漢字漢字漢字漢字漢字', '😀'.repeat(10), `broken \ud800 surrogate here`];
    for (const key of keys) table.mergePartial(key, 1, 0, 0, 0, 0);
    for (const key of keys) table.mergePartial(key, 1, 0, 0, 0, 0);
    expect(table.keys).toEqual(keys);
    expect([...table.counts.subarray(0, 4)]).toEqual([2, 2, 2, 2]);
  });
});

function columns(entries: ReadonlyArray<[string, number, number?, number?, number?]>, withValues: boolean): DeltaColumns {
  const table = new PartialTable(withValues);
  for (const [key, count, sum = 0, min = Infinity, max = -Infinity] of entries) table.mergePartial(key, count, sum, 0, min, max);
  return table;
}

describe('summarizerFor', () => {
  it('merges partials of several commits and orders by value descending, then key ascending', () => {
    const summarize = orderedSummary(reducerFor('count'));
    const rows = summarize([
      columns([['be', 1], ['to', 2], ['or', 1]], false),
      columns([['be', 1], ['not', 1], ['question', 3]], false),
    ]);
    expect(rows).toEqual([
      ['question', 3],
      ['be', 2],
      ['to', 2],
      ['not', 1],
      ['or', 1],
    ]);
  });

  it('orders ties by UTF-16 code units, not by locale', () => {
    const keys = ['b', 'B', 'a', 'A', 'é', 'e', 'Z', 'z', '10', '9', '_', '漢', '😀', 'ｚ', 'ä'];
    const rows = orderedSummary(reducerFor('count'))([columns(keys.map((k) => [k, 1] as [string, number]), false)]);
    const expected = [...keys].sort(); // default sort compares UTF-16 code units
    expect(rows.map(([k]) => k)).toEqual(expected);
    expect(expected.slice(0, 6)).toEqual(['10', '9', 'A', 'B', 'Z', '_']);
    // localeCompare would put 'a' before 'B' and 'é' next to 'e'.
    expect(rows.map(([k]) => k)).not.toEqual([...keys].sort((x, y) => x.localeCompare(y)));
  });

  it('puts 😀 (a surrogate pair, 0xD83D...) before ｚ (0xFF5A), as code-unit order does', () => {
    const rows = orderedSummary(reducerFor('count'))([columns([['ｚ', 1], ['😀', 1]], false)]);
    expect(rows.map(([k]) => k)).toEqual(['😀', 'ｚ']);
  });

  it.each([
    ['sum', [['a', 10, 30, 1, 20]], [['b', 2, 40, 15, 25]], [['b', 40], ['a', 30]]],
    ['min', [['a', 10, 30, 1, 20]], [['b', 2, 40, 15, 25], ['a', 1, -3, -3, -3]], [['b', 15], ['a', -3]]],
    ['max', [['a', 10, 30, 1, 20]], [['b', 2, 40, 15, 25]], [['b', 25], ['a', 20]]],
    ['avg', [['a', 4, 10, 1, 4]], [['a', 1, 5, 5, 5], ['b', 2, 2, 0, 2]], [['a', 3], ['b', 1]]],
    ['count', [['a', 10, 30, 1, 20]], [['b', 2, 40, 15, 25]], [['a', 10], ['b', 2]]],
  ] as const)('%s merges partials before reducing', (name, first, second, expected) => {
    const reducer = reducerFor(name);
    const rows = orderedSummary(reducer)([
      columns(first as unknown as Array<[string, number, number, number, number]>, reducer.needsValue),
      columns(second as unknown as Array<[string, number, number, number, number]>, reducer.needsValue),
    ]);
    expect(rows).toEqual(expected);
  });

  it('equals reducing all records at once, however they were split into partials', () => {
    const random = seededRandom(31);
    for (const name of PARTIAL_REDUCTION_NAMES) {
      const reducer = reducerFor(name);
      const records = Array.from({ length: 3_000 }, () => [`key${intBelow(random, 40)}`, intBelow(random, 401) - 200] as const);
      const parts: PartialTable[] = [new PartialTable(reducer.needsValue, 4)];
      for (const [key, value] of records) {
        if (random() < 0.01) parts.push(new PartialTable(reducer.needsValue, 4));
        const part = parts[parts.length - 1]!;
        if (reducer.needsValue) part.addValue(key, value);
        else part.mergePartial(key, 1, 0, 0, Infinity, -Infinity);
      }
      const byKey = new Map<string, number[]>();
      for (const [key, value] of records) byKey.set(key, [...(byKey.get(key) ?? []), value]);
      const expected: ResultRow[] = [...byKey].map(([key, values]) => [key, reduceAll(name, values)] as const);
      expected.sort((a, b) => num(b[1]) - num(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      expect(orderedSummary(reducer)(parts)).toEqual(expected);
    }
  });

  it('gives no rows for no partials or empty partials', () => {
    const summarize = orderedSummary(reducerFor('count'));
    expect(summarize([])).toEqual([]);
    expect(summarize([new PartialTable(false), new PartialTable(false)])).toEqual([]);
  });
});

describe('compareRows', () => {
  it('is value descending, then key ascending, and 0 only for equal rows', () => {
    expect(compareRows(['a', 2], ['b', 1])).toBeLessThan(0);
    expect(compareRows(['b', 1], ['a', 2])).toBeGreaterThan(0);
    expect(compareRows(['a', 1], ['b', 1])).toBeLessThan(0);
    expect(compareRows(['b', 1], ['a', 1])).toBeGreaterThan(0);
    expect(compareRows(['a', 1], ['a', 1])).toBe(0);
    expect(compareRows(['a', -0.5], ['a', -0.25])).toBeGreaterThan(0);
  });
});

/** A random integer in [-(2^53 - 1), 2^53 - 1], from two 32-bit draws so every bit can be set. */
function randomSafeInteger(random: () => number): number {
  const magnitude = intBelow(random, 2 ** 21) * 2 ** 32 + intBelow(random, 2 ** 32);
  return random() < 0.5 ? -magnitude : magnitude;
}

function bigSum(values: readonly number[]): bigint {
  let total = 0n;
  for (const v of values) total += BigInt(v);
  return total;
}

/** The exact value of a sum result as a bigint (it must be an integer). */
function asBigInt(value: ResultValue): bigint {
  if (typeof value === 'bigint') return value;
  expect(Number.isSafeInteger(value), `${value} is a safe integer`).toBe(true);
  return BigInt(value);
}

describe('double-double sums: twoSumAdd and exactSum', () => {
  it('twoSumAdd keeps the rounding error of the high part in the low part', () => {
    // 2^53 + 1 is not a float64; the 1 must survive in the low part.
    expect([...twoSumAdd(2 ** 53, 0, 1, 0)]).toEqual([2 ** 53, 1]);
    expect([...twoSumAdd(2 ** 53, 1, 1, 0)]).toEqual([2 ** 53 + 2, 0]);
    expect([...twoSumAdd(1, 0, 2 ** 60, 0)]).toEqual([2 ** 60, 1]);
    expect([...twoSumAdd(0.5, 0, 0.25, 0)]).toEqual([0.75, 0]);
    // Cancelling the high parts brings the low parts back up.
    expect([...twoSumAdd(2 ** 60, 3, -(2 ** 60), 4)]).toEqual([7, 0]);
  });

  it('twoSumAdd returns a renormalized pair: the high part is the sum rounded to a float64', () => {
    const random = seededRandom(41);
    for (let i = 0; i < 2_000; i++) {
      const a = randomSafeInteger(random) * 2 ** intBelow(random, 40);
      const b = randomSafeInteger(random);
      const [hi, lo] = twoSumAdd(a, 0, b, 0);
      expect(BigInt(hi) + BigInt(lo)).toBe(BigInt(a) + BigInt(b));
      expect(hi + lo).toBe(hi);
      expect(hi).toBe(Number(BigInt(a) + BigInt(b)));
    }
  });

  it('exactSum is a plain number up to 2^53 and an exact bigint beyond', () => {
    expect(exactSum(10, 0)).toBe(10);
    expect(exactSum(0.75, 0)).toBe(0.75);
    expect(exactSum(Number.MAX_SAFE_INTEGER, 0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(exactSum(-Number.MAX_SAFE_INTEGER, 0)).toBe(-Number.MAX_SAFE_INTEGER);
    expect(exactSum(2 ** 53, 0)).toBe(2n ** 53n);
    expect(exactSum(2 ** 53, 1)).toBe(2n ** 53n + 1n);
    expect(exactSum(2 ** 60, -1)).toBe(2n ** 60n - 1n);
    expect(exactSum(-(2 ** 53), -1)).toBe(-(2n ** 53n) - 1n);
    expect(exactSum(2 ** 80, 2 ** 20)).toBe(2n ** 80n + 2n ** 20n);
  });
});

describe('double-double sums: sum, avg and merge stay exact past 2^53', () => {
  it('adds many large integers to their exact total, as BigInt arithmetic gives it', () => {
    const random = seededRandom(42);
    for (let round = 0; round < 20; round++) {
      const values = Array.from({ length: 1 + intBelow(random, 5_000) }, () =>
        random() < 0.7 ? Math.abs(randomSafeInteger(random)) : intBelow(random, 1_000) - 500,
      );
      const expected = bigSum(values);
      const result = reduceAll('sum', values);
      expect(asBigInt(result), `round ${round}`).toBe(expected);
      // Beyond 2^53 the result is a bigint; within it a number.
      expect(typeof result).toBe(expected > BigInt(Number.MAX_SAFE_INTEGER) || expected < -BigInt(Number.MAX_SAFE_INTEGER) ? 'bigint' : 'number');
    }
  });

  it('does not lose small values added to a huge one (a plain float64 sum would)', () => {
    const values = [2 ** 53, ...Array.from({ length: 1_000 }, () => 1)];
    expect(values.reduce((a, b) => a + b, 0)).toBe(2 ** 53); // the naive sum drops every 1
    expect(reduceAll('sum', values)).toBe(2n ** 53n + 1_000n);
    expect(reduceAll('sum', [Number.MAX_SAFE_INTEGER, 1])).toBe(2n ** 53n);
    expect(reduceAll('sum', [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER])).toBe(
      3n * BigInt(Number.MAX_SAFE_INTEGER),
    );
    expect(reduceAll('sum', [-Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -3])).toBe(
      -2n * BigInt(Number.MAX_SAFE_INTEGER) - 3n,
    );
  });

  it('comes back to a plain number when the total falls back within 2^53', () => {
    const result = reduceAll('sum', [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 7, -Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER]);
    expect(result).toBe(7);
    expect(reduceAll('sum', [2 ** 53, 1, -(2 ** 53)])).toBe(1);
  });

  it('merging partials gives the same exact total whatever the split and the merge order', () => {
    const random = seededRandom(43);
    const reducer = reducerFor('sum');
    for (let round = 0; round < 30; round++) {
      const values = Array.from({ length: 1 + intBelow(random, 400) }, () => randomSafeInteger(random));
      const expected = bigSum(values);
      const parts: PartialAggregate[] = [];
      let current: number[] = [];
      for (const v of values) {
        current.push(v);
        if (random() < 0.2) {
          parts.push(partialOf(current));
          current = [];
        }
      }
      parts.push(partialOf(current));
      for (let order = 0; order < 5; order++) {
        const shuffled = [...parts];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = intBelow(random, i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        // Merge left to right, and also as a tree of merged merges (how workers' deltas combine).
        expect(asBigInt(reducer.result(mergeAll(shuffled))), `round ${round}, order ${order}`).toBe(expected);
        let level = shuffled;
        while (level.length > 1) {
          const next: PartialAggregate[] = [];
          for (let i = 0; i < level.length; i += 2) next.push(mergeAll(level.slice(i, i + 2)));
          level = next;
        }
        expect(asBigInt(reducer.result(level[0]!))).toBe(expected);
      }
    }
  });

  it('avg of huge integers divides the exact sum, not a rounded one', () => {
    // Naively 2^53 + 1 + 1 rounds to 2^53 and the mean comes out 1 too low.
    expect(reduceAll('avg', [2 ** 53, 1, 1])).toBe(Number(2n ** 53n + 2n) / 3);
    expect(reduceAll('avg', [2 ** 53, 1, 1])).not.toBe(2 ** 53 / 3);
    expect(reduceAll('avg', [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER])).toBe(
      Number.MAX_SAFE_INTEGER,
    );
    const ones = [2 ** 53, ...Array.from({ length: 999 }, () => 1)];
    expect(reduceAll('avg', ones)).toBe(Number(2n ** 53n + 999n) / 1_000);
    const random = seededRandom(44);
    for (let round = 0; round < 50; round++) {
      const values = Array.from({ length: 1 + intBelow(random, 300) }, () => Math.abs(randomSafeInteger(random)));
      const result = reduceAll('avg', values);
      expect(typeof result).toBe('number');
      expect(result).toBe(Number(bigSum(values)) / values.length);
    }
  });

  it('avg merged from partials equals avg of everything at once, for huge integers', () => {
    const reducer = reducerFor('avg');
    const values = [2 ** 53, 1, 3, Number.MAX_SAFE_INTEGER, 5, 2 ** 52, 7];
    const merged = mergeAll([partialOf(values.filter((_, i) => i % 2 === 1)), partialOf(values.filter((_, i) => i % 2 === 0))]);
    expect(reducer.result(merged)).toBe(Number(bigSum(values)) / values.length);
    expect(reducer.result(merged)).toBe(reduceAll('avg', values));
  });

  it('PartialTable keeps the low part: addValue and mergePartial (with sumLow) stay exact', () => {
    const table = new PartialTable(true, 1);
    for (const v of [2 ** 53, 1, 1, 1]) table.addValue('a', v);
    const a = table.partialAt(0);
    expect(BigInt(a.sum) + BigInt(a.sumLow)).toBe(2n ** 53n + 3n);
    expect(reducerFor('sum').result(a)).toBe(2n ** 53n + 3n);
    // Merge a partial whose own low part carries the exactness.
    table.mergePartial('a', 2, 2 ** 60, 5, 1, 2 ** 60);
    table.mergePartial('b', 1, 2 ** 53, 1, 2 ** 53, 2 ** 53);
    expect(reducerFor('sum').result(table.partialAt(0))).toBe(2n ** 53n + 3n + 2n ** 60n + 5n);
    expect(reducerFor('sum').result(table.partialAt(1))).toBe(2n ** 53n + 1n);
    expect(table.partialAt(0).count).toBe(6);
    expect(table.sumLows).not.toBeNull();
  });

  it('summarizerFor gives exact bigint sums from deltas split over commits, in any order', () => {
    const random = seededRandom(45);
    const summarize = orderedSummary(reducerFor('sum'));
    const records = Array.from({ length: 3_000 }, () => [`k${intBelow(random, 5)}`, Math.abs(randomSafeInteger(random))] as const);
    const parts: PartialTable[] = [new PartialTable(true, 2)];
    for (const [key, value] of records) {
      if (random() < 0.02) parts.push(new PartialTable(true, 2));
      parts[parts.length - 1]!.addValue(key, value);
    }
    const expected = new Map<string, bigint>();
    for (const [key, value] of records) expected.set(key, (expected.get(key) ?? 0n) + BigInt(value));
    const expectedRows = [...expected].sort((x, y) => (x[1] > y[1] ? -1 : x[1] < y[1] ? 1 : 0));
    expect(summarize(parts)).toEqual(expectedRows);
    expect(summarize([...parts].reverse())).toEqual(expectedRows);
    for (const [, value] of summarize(parts)) expect(typeof value).toBe('bigint');
  });

  it('orders bigint sums among number sums by value', () => {
    const summarize = orderedSummary(reducerFor('sum'));
    const rows = summarize([
      columns([['small', 1, 5], ['huge', 1, 2 ** 60], ['neg', 1, -(2 ** 60)], ['mid', 1, 2 ** 52]], true),
      columns([['huge', 1, 1], ['neg', 1, -1]], true),
    ]);
    expect(rows).toEqual([
      ['huge', 2n ** 60n + 1n],
      ['mid', 2 ** 52],
      ['small', 5],
      ['neg', -(2n ** 60n) - 1n],
    ]);
  });
});

describe('compareRows with bigint values', () => {
  it('compares bigints with each other and with numbers by value', () => {
    expect(compareRows(['a', 2n ** 60n], ['b', 5])).toBeLessThan(0);
    expect(compareRows(['a', 5], ['b', 2n ** 60n])).toBeGreaterThan(0);
    expect(compareRows(['a', 2n ** 60n + 1n], ['b', 2n ** 60n])).toBeLessThan(0);
    expect(compareRows(['b', 2n ** 60n], ['a', 2n ** 60n])).toBeGreaterThan(0);
    expect(compareRows(['a', 2n ** 60n], ['a', 2n ** 60n])).toBe(0);
  });

  it('is consistent when a bigint and a number hold the same value: key ascending, whichever comes first', () => {
    // sum of [2^53 - 2, 2] is the bigint 2^53; sum of [2^53 - 1, 1.5] is not an integer and comes out as the number 2^53.
    expect(compareRows(['a', 2n ** 53n], ['b', 2 ** 53])).toBeLessThan(0);
    expect(compareRows(['b', 2 ** 53], ['a', 2n ** 53n])).toBeGreaterThan(0);
  });

  it('the summarizer output does not depend on the order the keys arrived in, even then', () => {
    const summarize = orderedSummary(reducerFor('sum'));
    const table = (entries: ReadonlyArray<readonly [string, number]>): PartialTable => {
      const t = new PartialTable(true);
      for (const [key, value] of entries) t.addValue(key, value);
      return t;
    };
    const a = [['a', Number.MAX_SAFE_INTEGER - 1], ['a', 2]] as const;
    const b = [['b', Number.MAX_SAFE_INTEGER], ['b', 1.5]] as const;
    expect(summarize([table([...a, ...b])])).toEqual(summarize([table([...b, ...a])]));
  });
});
