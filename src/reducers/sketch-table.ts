import type { DeltaColumns } from '../model.js';
import { ByteReader, ByteWriter } from './sketches/bytes.js';
import { DistinctSketch } from './sketches/distinct-sketch.js';
import { QUANTILE_SKETCH_V1, QuantileSketch } from './sketches/quantile-sketch.js';
import type { WindowTable } from './window-table.js';

/** What a sketch reduction keeps per key: a mergeable sketch with one encoding. */
export interface Sketch {
  encode(out: ByteWriter): void;
  /** Adds the sketch `input` holds encoded (reading exactly it). */
  merge(input: ByteReader): void;
}

export type SketchName = 'quantile' | 'distinct';

export const SKETCHES: Readonly<Record<SketchName, () => Sketch>> = {
  quantile: () => new QuantileSketch(),
  distinct: () => new DistinctSketch(),
};

/**
 * Key -> sketch of one window (quantile, distinct), with each key's record
 * count beside it (what late records and status count). A delta's sketch
 * column is every key's sketch in key order, each as a varint byte length and
 * its encoding (sketches/*.ts document theirs, each led by a tag byte that
 * names its kind and version). Like PartialTable, the whole table is one
 * delta, committed once, then dropped.
 */
export class SketchTable<S extends Sketch> implements WindowTable, DeltaColumns {
  private readonly slots = new Map<string, number>();
  private readonly keyList: string[] = [];
  private readonly sketchList: S[] = [];
  counts = new Float64Array(64);
  readonly sums = null;
  readonly sumLows = null;
  readonly mins = null;
  readonly maxs = null;

  constructor(private readonly make: () => S) {}

  get size(): number {
    return this.keyList.length;
  }

  get keys(): readonly string[] {
    return this.keyList;
  }

  /** The sketch of `key`, made on first use, with one record counted for it: the caller adds the record's value. */
  record(key: string): S {
    let slot = this.slots.get(key);
    if (slot === undefined) slot = this.newSlot(key);
    this.counts[slot]! += 1;
    return this.sketchList[slot]!;
  }

  sketchAt(slot: number): S {
    return this.sketchList[slot]!;
  }

  /** Every key's sketch, encoded (see the class comment). */
  get sketches(): Uint8Array {
    const out = new ByteWriter();
    const one = new ByteWriter();
    for (const sketch of this.sketchList) {
      one.length = 0;
      sketch.encode(one);
      out.varint(one.length);
      out.bytes(one.written());
    }
    return out.written();
  }

  addDelta(d: DeltaColumns): void {
    const { keys, counts, sketches } = d;
    if (sketches == null) throw new Error('a sketch job read a delta without sketches');
    const input = new ByteReader(sketches);
    const one = new ByteReader(sketches);
    for (let i = 0; i < d.size; i++) {
      const key = keys[i]!;
      let slot = this.slots.get(key);
      if (slot === undefined) slot = this.newSlot(key);
      this.counts[slot]! += counts[i]!;
      const length = input.varint();
      const end = input.at + length;
      if (end > sketches.length) throw new Error('sketch data is truncated');
      this.sketchList[slot]!.merge(one.reset(sketches, input.at, end));
      input.at = end;
    }
    if (!input.done) throw new Error('a delta holds more sketch data than keys');
  }

  unsettled(): DeltaColumns {
    return this;
  }

  settle(): boolean {
    return false;
  }

  settledTotals(): null {
    return null;
  }

  private newSlot(key: string): number {
    const slot = this.keyList.length;
    if (slot === this.counts.length) {
      const counts = new Float64Array(slot * 2);
      counts.set(this.counts);
      this.counts = counts;
    }
    // Substrings can pin the whole chunk they were cut from; keep a flat copy instead.
    const owned = key.length >= 13 ? (JSON.parse(JSON.stringify(key)) as string) : key;
    this.keyList.push(owned);
    this.slots.set(owned, slot);
    this.sketchList.push(this.make());
    return slot;
  }
}

/** Checks that a delta's sketch column holds one well-formed sketch per key (snapshot validation). */
export function checkSketchColumn(blob: Uint8Array, keyCount: number, name: SketchName | null): void {
  const input = new ByteReader(blob);
  for (let i = 0; i < keyCount; i++) {
    const length = input.varint();
    const end = input.at + length;
    if (end > blob.length) throw new Error('sketch data is truncated');
    const kind = name ?? (blob[input.at] === QUANTILE_SKETCH_V1 ? 'quantile' : 'distinct');
    const one = new ByteReader(blob, input.at, end);
    SKETCHES[kind]().merge(one);
    if (!one.done) throw new Error('a sketch holds trailing bytes');
    input.at = end;
  }
  if (!input.done) throw new Error('a delta holds more sketch data than keys');
}
