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

/** Counts per bucket key, in one array spanning minKey..maxKey (with room around it). */
class Bins {
  counts = new Float64Array(0);
  /** The key of counts[0]. */
  offset = 0;
  minKey = 0;
  maxKey = -1;
  total = 0;

  add(key: number, count: number): void {
    if (key < this.minKey || key > this.maxKey) this.extend(key);
    this.counts[key - this.offset]! += count;
    this.total += count;
  }

  private extend(key: number): void {
    if (this.total === 0) {
      if (this.counts.length === 0) this.counts = new Float64Array(8);
      this.counts.fill(0);
      this.offset = key - (this.counts.length >> 1);
      this.minKey = key;
      this.maxKey = key;
      return;
    }
    const min = Math.min(key, this.minKey);
    const max = Math.max(key, this.maxKey);
    if (min < this.offset || max >= this.offset + this.counts.length) {
      // Double the span (or more), centred on the keys seen: a stream of growing keys reallocates log(n) times.
      const length = Math.max(this.counts.length * 2, (max - min + 1) * 2);
      const counts = new Float64Array(length);
      const offset = min - ((length - (max - min + 1)) >> 1);
      counts.set(this.counts.subarray(this.minKey - this.offset, this.maxKey - this.offset + 1), this.minKey - offset);
      this.counts = counts;
      this.offset = offset;
    }
    this.minKey = min;
    this.maxKey = max;
  }

  /** The key of the value at `rank` (0-based, in key order): the first whose running count passes it. */
  keyAtRank(rank: number): number {
    let running = 0;
    for (let key = this.minKey; key <= this.maxKey; key++) {
      running += this.counts[key - this.offset]!;
      if (running > rank) return key;
    }
    return this.maxKey;
  }

  /** Non-empty bins: count, then (key delta, count) each; keys ascend, so deltas after the first are positive. */
  encode(out: ByteWriter): void {
    let nonEmpty = 0;
    for (let key = this.minKey; key <= this.maxKey; key++) if (this.counts[key - this.offset]! > 0) nonEmpty++;
    out.varint(nonEmpty);
    let previous = 0;
    let first = true;
    for (let key = this.minKey; key <= this.maxKey; key++) {
      const count = this.counts[key - this.offset]!;
      if (count === 0) continue;
      if (first) out.zigzag(key);
      else out.varint(key - previous);
      first = false;
      previous = key;
      out.varint(count);
    }
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
  private readonly negative = new Bins();
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

  get count(): number {
    return this.negative.total + this.zeros + this.positive.total;
  }

  /**
   * The value at rank q (n - 1) of the n values in ascending order (rounded
   * down: the lower of two neighbours, as sketches-js answers), within the
   * relative accuracy; clamped to the smallest and largest value seen, which
   * only brings it closer (and makes a constant key's answer exact). The
   * first and last ranks are the smallest and largest value themselves.
   */
  quantile(q: number): number {
    const count = this.count;
    if (count === 0) return NaN;
    const rank = Math.floor(q * (count - 1));
    if (rank <= 0) return this.min;
    if (rank >= count - 1) return this.max;
    const negatives = this.negative.total;
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
