/**
 * The five reductions. Every one keeps the same partial aggregate (count,
 * sum, min, max) so partials from different commits or processes merge the
 * same way, and avg stays exact: sum and count are kept, and divided only at
 * output. Sums are double-double (a float64 high part plus the rounding error
 * it dropped), so integer sums stay exact up to about 2^106 and come out as
 * exact integers (bigint beyond 2^53) instead of silently rounded floats.
 */
export type ReductionName = 'count' | 'sum' | 'min' | 'max' | 'avg';

export const REDUCTION_NAMES: readonly ReductionName[] = ['count', 'sum', 'min', 'max', 'avg'];

export interface PartialAggregate {
  count: number;
  sum: number;
  /** Rounding error of `sum`: the exact sum is sum + sumLow. */
  sumLow: number;
  min: number;
  max: number;
}

export type ResultValue = number | bigint;

export interface Reducer {
  readonly name: ReductionName;
  /** Whether records carry a numeric value (everything but count). */
  readonly needsValue: boolean;
  init(): PartialAggregate;
  add(partial: PartialAggregate, value: number): void;
  merge(into: PartialAggregate, from: PartialAggregate): void;
  result(partial: PartialAggregate): ResultValue;
}

function init(): PartialAggregate {
  return { count: 0, sum: 0, sumLow: 0, min: Infinity, max: -Infinity };
}

function add(p: PartialAggregate, value: number): void {
  p.count += 1;
  addToSum(p, value, 0);
  if (value < p.min) p.min = value;
  if (value > p.max) p.max = value;
}

function merge(into: PartialAggregate, from: PartialAggregate): void {
  into.count += from.count;
  addToSum(into, from.sum, from.sumLow);
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
}

/** Adds hi + lo to the double-double p.sum + p.sumLow (Knuth's TwoSum, then renormalized). */
function addToSum(p: PartialAggregate, hi: number, lo: number): void {
  const [sum, low] = twoSumAdd(p.sum, p.sumLow, hi, lo);
  p.sum = sum;
  p.sumLow = low;
}

const pair: [number, number] = [0, 0];

/** (aHi + aLo) + (bHi + bLo) as a renormalized double-double; returns a shared tuple. */
export function twoSumAdd(aHi: number, aLo: number, bHi: number, bLo: number): readonly [number, number] {
  const s = aHi + bHi;
  const bb = s - aHi;
  const err = aHi - (s - bb) + (bHi - bb);
  const lo = err + aLo + bLo;
  const hi = s + lo;
  pair[0] = hi;
  pair[1] = lo - (hi - s);
  return pair;
}

/** The exact value of a double-double sum: a bigint when it is an integer beyond 2^53, else a number. */
export function exactSum(hi: number, lo: number): ResultValue {
  if (Number.isInteger(hi) && Number.isInteger(lo) && Math.abs(hi) > Number.MAX_SAFE_INTEGER) {
    return BigInt(hi) + BigInt(lo);
  }
  return hi + lo;
}

function reducer(name: ReductionName, result: (p: PartialAggregate) => ResultValue): Reducer {
  return { name, needsValue: name !== 'count', init, add, merge, result };
}

const REDUCERS: Readonly<Record<ReductionName, Reducer>> = {
  count: reducer('count', (p) => p.count),
  sum: reducer('sum', (p) => exactSum(p.sum, p.sumLow)),
  min: reducer('min', (p) => p.min),
  max: reducer('max', (p) => p.max),
  avg: reducer('avg', (p) => (p.sum + p.sumLow) / p.count),
};

export function reducerFor(name: ReductionName): Reducer {
  return REDUCERS[name];
}
