import type { ByteReader, ByteWriter } from './bytes.js';

/**
 * DDSketch (Masson, Rim, Lee: "DDSketch: a fast and fully-mergeable quantile
 * sketch with relative-error guarantees", VLDB 2019), as Datadog's
 * @datadog/sketches-js builds it: logarithmic buckets of ratio
 * gamma = (1 + a) / (1 - a), bucket k holding (gamma^(k-1), gamma^k], one
 * dense store for positive values and one for negative ones (by magnitude),
 * and a count of zeros. Any value in a bucket is within a relative error a of
 * the bucket's representative 2 gamma^k / (1 + gamma), and merging adds
 * bucket counts, so merged sketches answer exactly as one sketch of all the
 * values would.
 *
 * Written here rather than taken from @datadog/sketches-js 2.1.1: its merge
 * drops the other sketch's negative values, its serialization needs
 * protobufjs, which it does not declare, and its array-backed store took
 * ~115 ns per value here (this one: see the README's Speed section).
 *
 * a is 0.99% rather than 1%, so "within 1%" holds with the float rounding of
 * the logarithm and of the printed value (5 significant digits) to spare.
 * Every nonzero finite double has a bucket (keys stay within ±38,000), so
 * the guarantee holds for any value; the stores span only the buckets
 * between the smallest and largest key seen.
 */
export const RELATIVE_ACCURACY = 0.0099;
const GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
const INV_LN_GAMMA = 1 / LN_GAMMA;
/** ln of the factor from gamma^k down to the bucket's representative. */
const LN_REPRESENTATIVE = Math.log(2 / (1 + GAMMA));

/** Encoding tag (and version) of a quantile sketch: see encode(). */
export const QUANTILE_SKETCH_V1 = 1;

/** The bucket of |value| (value nonzero and finite). */
export function bucketOf(magnitude: number): number {
  return Math.ceil(Math.log(magnitude) * INV_LN_GAMMA);
}

/** The representative value of a bucket. */
export function bucketValue(key: number): number {
  return Math.exp(key * LN_GAMMA + LN_REPRESENTATIVE);
}

/**
 * Up to this many distinct buckets, a store lists (key, count) pairs; past
 * it, one dense array spans its smallest to largest key. Most keys of a
 * window see few values, and a dense array over a spread of values (e^0 to
 * e^6 is ~300 buckets) would cost kilobytes per key.
 */
const SPARSE_LIMIT = 16;

/** Counts per bucket key. */
class Bins {
  /** Sparse: key, count, key, count, ... (one small array: most keys of a window hold few values). */
  private pairs: number[] | null = [];
  /** Dense: counts[key - offset], once past SPARSE_LIMIT buckets; null while sparse. */
  private dense: Float64Array | null = null;
  private offset = 0;
  private minKey = 0;
  private maxKey = -1;
  total = 0;

  add(key: number, count: number): void {
    this.total += count;
    const pairs = this.pairs;
    if (pairs === null) {
      this.denseAdd(key, count);
      return;
    }
    const n = pairs.length;
    for (let i = 0; i < n; i += 2) {
      if (pairs[i] === key) {
        pairs[i + 1]! += count;
        return;
      }
    }
    if (n < SPARSE_LIMIT * 2) {
      pairs.push(key, count);
      return;
    }
    this.toDense(pairs);
    this.denseAdd(key, count);
  }

  private toDense(pairs: number[]): void {
    let min = pairs[0]!;
    let max = pairs[0]!;
    for (let i = 2; i < pairs.length; i += 2) {
      if (pairs[i]! < min) min = pairs[i]!;
      if (pairs[i]! > max) max = pairs[i]!;
    }
    const length = Math.max(64, (max - min + 1) * 2);
    const dense = new Float64Array(length);
    this.offset = min - ((length - (max - min + 1)) >> 1);
    this.minKey = min;
    this.maxKey = max;
    for (let i = 0; i < pairs.length; i += 2) dense[pairs[i]! - this.offset] = pairs[i + 1]!;
    this.dense = dense;
    this.pairs = null;
  }

  private denseAdd(key: number, count: number): void {
    if (key < this.minKey || key > this.maxKey) this.extend(key);
    this.dense![key - this.offset]! += count;
  }

  private extend(key: number): void {
    const min = Math.min(key, this.minKey);
    const max = Math.max(key, this.maxKey);
    const dense = this.dense!;
    if (min < this.offset || max >= this.offset + dense.length) {
      // Double the span (or more), centred on the keys seen: a stream of growing keys reallocates log(n) times.
      const length = Math.max(dense.length * 2, (max - min + 1) * 2);
      const grown = new Float64Array(length);
      const offset = min - ((length - (max - min + 1)) >> 1);
      grown.set(dense.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1), this.minKey - offset);
      this.dense = grown;
      this.offset = offset;
    }
    this.minKey = min;
    this.maxKey = max;
  }

  /** Calls `each` for every non-empty bucket in ascending key order. */
  private ascending(each: (key: number, count: number) => boolean | void): void {
    const dense = this.dense;
    if (dense !== null) {
      for (let key = this.minKey; key <= this.maxKey; key++) {
        const count = dense[key - this.offset]!;
        if (count !== 0 && each(key, count) === true) return;
      }
      return;
    }
    const pairs = this.pairs!;
    // Insertion sort of the few pairs, in place: their order in the list does not matter.
    for (let i = 2; i < pairs.length; i += 2) {
      const k = pairs[i]!;
      const c = pairs[i + 1]!;
      let j = i - 2;
      for (; j >= 0 && pairs[j]! > k; j -= 2) {
        pairs[j + 2] = pairs[j]!;
        pairs[j + 3] = pairs[j + 1]!;
      }
      pairs[j + 2] = k;
      pairs[j + 3] = c;
    }
    for (let i = 0; i < pairs.length; i += 2) if (each(pairs[i]!, pairs[i + 1]!) === true) return;
  }

  /** The key of the value at `rank` (0-based, in key order): the first whose running count passes it. */
  keyAtRank(rank: number): number {
    let running = 0;
    let found = NaN;
    this.ascending((key, count) => {
      running += count;
      found = key;
      return running > rank;
    });
    return found;
  }

  /** Non-empty buckets: their number, then (key delta, count) each; keys ascend, so deltas after the first are positive. */
  encode(out: ByteWriter): void {
    let nonEmpty = 0;
    this.ascending(() => {
      nonEmpty++;
    });
    out.varint(nonEmpty);
    let previous = 0;
    let first = true;
    this.ascending((key, count) => {
      if (first) out.zigzag(key);
      else out.varint(key - previous);
      first = false;
      previous = key;
      out.varint(count);
    });
  }

  merge(input: ByteReader): void {
    const n = input.varint();
    let key = 0;
    for (let i = 0; i < n; i++) {
      key = i === 0 ? input.zigzag() : key + input.varint();
      const count = input.varint();
      if (count === 0 || Math.abs(key) > 40_000) throw new Error('quantile sketch holds a bad bucket');
      this.add(key, count);
    }
  }
}

/** The values of one key in one window, as a DDSketch. */
export class QuantileSketch {
  private readonly positive = new Bins();
  /** Made on the first negative value: most data has none. */
  private negativeBins: Bins | null = null;
  private zeros = 0;
  private min = Infinity;
  private max = -Infinity;

  /** Adds one finite value. */
  add(value: number): void {
    if (value > 0) this.positive.add(bucketOf(value), 1);
    else if (value < 0) this.negative.add(bucketOf(-value), 1);
    else this.zeros++;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  /** The smallest value seen (Infinity before any). */
  get smallest(): number {
    return this.min;
  }

  /** The largest value seen (-Infinity before any). */
  get largest(): number {
    return this.max;
  }

  private get negative(): Bins {
    return (this.negativeBins ??= new Bins());
  }

  get count(): number {
    return (this.negativeBins?.total ?? 0) + this.zeros + this.positive.total;
  }

  /**
   * The value at the nearest rank ⌈q n⌉ of the n values in ascending order
   * (1-based: the smallest value with at least q n values at or below it, so
   * the p99 of 10 values is the largest), within the relative accuracy;
   * clamped to the smallest and largest value seen, which only brings it
   * closer (and makes a constant key's answer exact). The first and last
   * ranks are the smallest and largest value themselves.
   */
  quantile(q: number): number {
    const count = this.count;
    if (count === 0) return NaN;
    const rank = Math.ceil(q * count) - 1;
    if (rank <= 0) return this.min;
    if (rank >= count - 1) return this.max;
    const negatives = this.negativeBins?.total ?? 0;
    let value: number;
    if (rank < negatives) value = -bucketValue(this.negative.keyAtRank(negatives - 1 - rank));
    else if (rank < negatives + this.zeros) value = 0;
    else value = bucketValue(this.positive.keyAtRank(rank - negatives - this.zeros));
    return Math.min(this.max, Math.max(this.min, value));
  }

  /**
   * Version 1: the tag byte QUANTILE_SKETCH_V1, min and max (float64 LE),
   * the zero count (varint), then the positive and the negative bins (see
   * Bins.encode; keys of the negative bins are those of the magnitudes).
   * The accuracy (and so gamma) is part of the version.
   */
  encode(out: ByteWriter): void {
    out.byte(QUANTILE_SKETCH_V1);
    out.float64(this.min);
    out.float64(this.max);
    out.varint(this.zeros);
    this.positive.encode(out);
    this.negative.encode(out);
  }

  /** Adds an encoded sketch (what encode wrote): the union of both multisets of values. */
  merge(input: ByteReader): void {
    const tag = input.byte();
    if (tag !== QUANTILE_SKETCH_V1) throw new Error(`not a quantile sketch (tag ${tag})`);
    const min = input.float64();
    const max = input.float64();
    if (min < this.min) this.min = min;
    if (max > this.max) this.max = max;
    this.zeros += input.varint();
    this.positive.merge(input);
    this.negative.merge(input);
  }
}
