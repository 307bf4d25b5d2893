import type { DeltaColumns } from '../model.js';
import { twoSumAdd, type PartialAggregate } from './reducers.js';
import { SketchTable } from './sketch-table.js';
import { QuantileSketch } from './sketches/quantile-sketch.js';
import type { WindowTable } from './window-table.js';

/**
 * Key -> partial aggregate, stored column-wise in typed arrays so the hot path
 * does one Map lookup per record and allocates nothing for keys already seen.
 * Counting-only tables skip the sum/min/max columns entirely.
 */
export class PartialTable implements WindowTable, DeltaColumns {
  readonly withValues: boolean;
  private readonly slots = new Map<string, number>();
  private keyList: string[] = [];
  counts: Float64Array;
  sums: Float64Array | null;
  sumLows: Float64Array | null;
  mins: Float64Array | null;
  maxs: Float64Array | null;

  constructor(withValues: boolean, initialCapacity = 1024) {
    this.withValues = withValues;
    const capacity = Math.max(1, initialCapacity);
    this.counts = new Float64Array(capacity);
    this.sums = withValues ? new Float64Array(capacity) : null;
    this.sumLows = withValues ? new Float64Array(capacity) : null;
    this.mins = withValues ? new Float64Array(capacity) : null;
    this.maxs = withValues ? new Float64Array(capacity) : null;
  }

  get size(): number {
    return this.keyList.length;
  }

  get keys(): readonly string[] {
    return this.keyList;
  }

  /** Counts one record for key. */
  increment(key: string): void {
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      this.counts[slot]! += 1;
      return;
    }
    const fresh = this.newSlot(key);
    // Index after newSlot: it may have swapped in a larger array.
    this.counts[fresh] = 1;
  }

  /** Adds one record with a numeric value for key. */
  addValue(key: string, value: number): void {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.newSlot(key);
      this.counts[slot] = 1;
      this.sums![slot] = value;
      this.sumLows![slot] = 0;
      this.mins![slot] = value;
      this.maxs![slot] = value;
      return;
    }
    this.counts[slot]! += 1;
    this.addSum(slot, value, 0);
    if (value < this.mins![slot]!) this.mins![slot] = value;
    if (value > this.maxs![slot]!) this.maxs![slot] = value;
  }

  /** Merges a whole partial aggregate for key (used when combining committed deltas). */
  mergePartial(key: string, count: number, sum: number, sumLow: number, min: number, max: number): void {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = this.newSlot(key);
      this.counts[slot] = count;
      if (this.withValues) {
        this.sums![slot] = sum;
        this.sumLows![slot] = sumLow;
        this.mins![slot] = min;
        this.maxs![slot] = max;
      }
      return;
    }
    this.counts[slot]! += count;
    if (this.withValues) {
      this.addSum(slot, sum, sumLow);
      if (min < this.mins![slot]!) this.mins![slot] = min;
      if (max > this.maxs![slot]!) this.maxs![slot] = max;
    }
  }

  addDelta(d: DeltaColumns): void {
    const { keys, counts, sums, sumLows, mins, maxs } = d;
    for (let i = 0; i < d.size; i++) {
      this.mergePartial(keys[i]!, counts[i]!, sums ? sums[i]! : 0, sumLows ? sumLows[i]! : 0, mins ? mins[i]! : Infinity, maxs ? maxs[i]! : -Infinity);
    }
  }

  /** The whole table is the delta: it is committed once, then dropped. */
  unsettled(): DeltaColumns {
    return this;
  }

  settle(): boolean {
    return false;
  }

  settledTotals(): null {
    return null;
  }

  partialAt(slot: number): PartialAggregate {
    return {
      count: this.counts[slot]!,
      sum: this.sums ? this.sums[slot]! : 0,
      sumLow: this.sumLows ? this.sumLows[slot]! : 0,
      min: this.mins ? this.mins[slot]! : Infinity,
      max: this.maxs ? this.maxs[slot]! : -Infinity,
    };
  }

  private addSum(slot: number, hi: number, lo: number): void {
    const [sum, low] = twoSumAdd(this.sums![slot]!, this.sumLows![slot]!, hi, lo);
    this.sums![slot] = sum;
    this.sumLows![slot] = low;
  }

  private newSlot(key: string): number {
    const slot = this.keyList.length;
    if (slot === this.counts.length) this.grow();
    // Substrings can pin the whole chunk they were cut from; keep a flat copy instead.
    const owned = key.length >= 13 ? flatCopy(key) : key;
    this.keyList.push(owned);
    this.slots.set(owned, slot);
    return slot;
  }

  private grow(): void {
    const capacity = this.counts.length * 2;
    this.counts = growArray(this.counts, capacity);
    if (this.withValues) {
      this.sums = growArray(this.sums!, capacity);
      this.sumLows = growArray(this.sumLows!, capacity);
      this.mins = growArray(this.mins!, capacity);
      this.maxs = growArray(this.maxs!, capacity);
    }
  }
}

function growArray(from: Float64Array, capacity: number): Float64Array {
  const to = new Float64Array(capacity);
  to.set(from);
  return to;
}

/** A copy that owns its characters (JSON round trip keeps lone surrogates intact, unlike a UTF-8 round trip). */
function flatCopy(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/**
 * The delta of each window start holding the records picked by `accepted`
 * (accepted[i] === 1), from records given column-wise (--dedupe: the store
 * picks the records whose ids are new): partial tables, or quantile sketches.
 */
export function partialTablesOf(
  records: {
    readonly starts: readonly number[];
    readonly keys: readonly string[];
    /** null: counting only. */
    readonly values: readonly number[] | null;
    /** 'quantile': the values go into quantile sketches. */
    readonly sketch?: 'quantile';
  },
  accepted: Uint8Array,
): Map<number, DeltaColumns> {
  const { starts, keys, values } = records;
  const quantiles = records.sketch === 'quantile';
  const tables = new Map<number, PartialTable | SketchTable<QuantileSketch>>();
  for (let i = 0; i < accepted.length; i++) {
    if (accepted[i] !== 1) continue;
    const start = starts[i]!;
    let table = tables.get(start);
    if (table === undefined) {
      table = quantiles ? new SketchTable(() => new QuantileSketch()) : new PartialTable(values !== null);
      tables.set(start, table);
    }
    if (table instanceof SketchTable) table.record(keys[i]!).add(values![i]!);
    else if (values !== null) table.addValue(keys[i]!, values[i]!);
    else table.increment(keys[i]!);
  }
  return tables;
}
