/**
 * The five reductions. Every one keeps the same partial aggregate (count, sum,
 * min, max) so partials from different commits or processes merge the same way,
 * and avg stays exact: sum and count are kept, and divided only at output.
 */
export type ReductionName = 'count' | 'sum' | 'min' | 'max' | 'avg';

export const REDUCTION_NAMES: readonly ReductionName[] = ['count', 'sum', 'min', 'max', 'avg'];

export interface PartialAggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface Reducer {
  readonly name: ReductionName;
  /** Whether records carry a numeric value (everything but count). */
  readonly needsValue: boolean;
  init(): PartialAggregate;
  add(partial: PartialAggregate, value: number): void;
  merge(into: PartialAggregate, from: PartialAggregate): void;
  result(partial: PartialAggregate): number;
}

function init(): PartialAggregate {
  return { count: 0, sum: 0, min: Infinity, max: -Infinity };
}

function add(p: PartialAggregate, value: number): void {
  p.count += 1;
  p.sum += value;
  if (value < p.min) p.min = value;
  if (value > p.max) p.max = value;
}

function merge(into: PartialAggregate, from: PartialAggregate): void {
  into.count += from.count;
  into.sum += from.sum;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
}

function reducer(name: ReductionName, result: (p: PartialAggregate) => number): Reducer {
  return { name, needsValue: name !== 'count', init, add, merge, result };
}

const REDUCERS: Readonly<Record<ReductionName, Reducer>> = {
  count: reducer('count', (p) => p.count),
  sum: reducer('sum', (p) => p.sum),
  min: reducer('min', (p) => p.min),
  max: reducer('max', (p) => p.max),
  avg: reducer('avg', (p) => p.sum / p.count),
};

export function reducerFor(name: ReductionName): Reducer {
  return REDUCERS[name];
}
