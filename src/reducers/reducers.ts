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
  readonly count: number;
  readonly sum: number;
  /** Rounding error of `sum`: the exact sum is sum + sumLow. */
  readonly sumLow: number;
  readonly min: number;
  readonly max: number;
}

export type ResultValue = number | bigint;

/**
 * A reduction: which partials it needs and what a key's merged partial
 * comes out as. The arithmetic of partials (add a value, merge partials) is
 * PartialTable's, the one place records and deltas are combined.
 */
export interface Reducer {
  readonly name: ReductionName;
  /** Whether records carry a numeric value (everything but count). */
  readonly needsValue: boolean;
  result(partial: PartialAggregate): ResultValue;
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
  return { name, needsValue: name !== 'count', result };
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
