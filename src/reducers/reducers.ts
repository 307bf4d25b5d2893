import type { RowValue } from '../model.js';
import type { SketchName } from './sketch-table.js';
import type { DistinctSketch } from './sketches/distinct-sketch.js';
import type { QuantileSketch } from './sketches/quantile-sketch.js';

/**
 * The reductions. count, sum, min, max and avg keep the same partial
 * aggregate (count, sum, min, max) so partials from different commits or
 * processes merge the same way, and avg stays exact: sum and count are kept,
 * and divided only at output. Sums are double-double (a float64 high part plus
 * the rounding error it dropped), so integer sums stay exact up to about 2^106
 * and come out as exact integers (bigint beyond 2^53) instead of silently
 * rounded floats. quantile and distinct keep a mergeable sketch per key
 * instead (sketch-table.ts).
 */
export type ReductionName = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'quantile' | 'distinct';

export type PartialReductionName = Exclude<ReductionName, 'quantile' | 'distinct'>;

/** The reductions of partial aggregates. */
export const PARTIAL_REDUCTION_NAMES: readonly PartialReductionName[] = ['count', 'sum', 'min', 'max', 'avg'];

export const REDUCTION_NAMES: readonly ReductionName[] = [...PARTIAL_REDUCTION_NAMES, 'quantile', 'distinct'];

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
  /** Whether records carry a value (everything but count). */
  readonly needsValue: boolean;
  result(partial: PartialAggregate): ResultValue;
  /** quantile and distinct: the sketch each key keeps, and what it comes out as; null for the others. */
  readonly sketch: SketchReduction | null;
}

export interface SketchReduction {
  readonly name: SketchName;
  /** The key's value from its merged sketch. */
  result(sketch: unknown): RowValue;
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
  return { name, needsValue: name !== 'count', result, sketch: null };
}

function sketchReducer(name: SketchName, result: (sketch: never) => RowValue): Reducer {
  return {
    name,
    needsValue: true,
    result: () => {
      throw new Error(`${name} reduces sketches, not partial aggregates`);
    },
    sketch: { name, result: result as (sketch: unknown) => RowValue },
  };
}

/**
 * A quantile rounded to 5 significant digits: the sketch knows it to 0.99%,
 * so more digits would only be noise, and rounding keeps it within 1%.
 * The smallest and largest values seen are exact and stay so.
 */
function roundQuantile(value: number): number {
  return Number(value.toPrecision(5));
}

/** quantile with its q list (ascending, each in [0, 1]): one number per q, in that order. */
export function quantileReducer(qs: readonly number[]): Reducer {
  return sketchReducer('quantile', (sketch: QuantileSketch) => qs.map((q) => {
    const value = sketch.quantile(q);
    return value === sketch.smallest || value === sketch.largest ? value : roundQuantile(value);
  }));
}

/** The column of quantile q: p50 for 0.5, p99.9 for 0.999, p0 and p100 at the ends. */
export function quantileColumn(q: number): string {
  return `p${Number((q * 100).toPrecision(12))}`;
}

/** The value columns of a job's rows: one per quantile for quantile, else the one `value`. */
export function valueColumns(qs: readonly number[] | null): readonly string[] {
  return qs === null ? ['value'] : qs.map(quantileColumn);
}

/** A quantile job's q list as its pinned definition spells it ('0.5,0.9,0.99'); null for other jobs. */
export function quantilesOfDefinition(q: string | undefined): readonly number[] | null {
  return q === undefined ? null : q.split(',').map(Number);
}

const DISTINCT = sketchReducer('distinct', (sketch: DistinctSketch) => sketch.estimate());

const REDUCERS: Readonly<Record<PartialReductionName, Reducer>> = {
  count: reducer('count', (p) => p.count),
  sum: reducer('sum', (p) => exactSum(p.sum, p.sumLow)),
  min: reducer('min', (p) => p.min),
  max: reducer('max', (p) => p.max),
  avg: reducer('avg', (p) => (p.sum + p.sumLow) / p.count),
};

/** The reduction `name`; quantile needs its q list. */
export function reducerFor(name: PartialReductionName): Reducer;
export function reducerFor(name: ReductionName, qs: readonly number[] | null): Reducer;
export function reducerFor(name: ReductionName, qs: readonly number[] | null = null): Reducer {
  if (name === 'distinct') return DISTINCT;
  if (name === 'quantile') {
    if (qs === null) throw new Error('quantile needs its q list');
    return quantileReducer(qs);
  }
  return REDUCERS[name];
}
