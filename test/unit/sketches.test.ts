import { describe, expect, it } from 'vitest';
import { quantileReducer, reducerFor } from '../../src/reducers/reducers.js';
import { checkSketchColumn, SketchTable } from '../../src/reducers/sketch-table.js';
import { ByteReader, ByteWriter } from '../../src/reducers/sketches/bytes.js';
import {
  DISTINCT_DENSE_V1,
  DISTINCT_EXACT_V1,
  DISTINCT_SPARSE_V1,
  DistinctSketch,
  EXACT_LIMIT,
} from '../../src/reducers/sketches/distinct-sketch.js';
import { HASH, hashString } from '../../src/reducers/sketches/hash.js';
import { QUANTILE_SKETCH_V1, QuantileSketch } from '../../src/reducers/sketches/quantile-sketch.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import { seededRandom } from '../support/prng.js';

/** The value at the nearest rank ceil(q n) (1-based) of the values in ascending order: what a quantile estimates. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

function encoded(sketch: { encode(out: ByteWriter): void }): Uint8Array {
  const out = new ByteWriter();
  sketch.encode(out);
  return out.written().slice();
}

function decodedQuantiles(bytes: Uint8Array): QuantileSketch {
  const sketch = new QuantileSketch();
  const input = new ByteReader(bytes);
  sketch.merge(input);
  expect(input.done).toBe(true);
  return sketch;
}

function decodedDistinct(bytes: Uint8Array): DistinctSketch {
  const sketch = new DistinctSketch();
  const input = new ByteReader(bytes);
  sketch.merge(input);
  expect(input.done).toBe(true);
  return sketch;
}

const QS = [0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1];

/** Every quantile of `values` from a sketch of them is within 1% of the exact one (relative to it). */
function expectWithinOnePercent(sketch: QuantileSketch, values: readonly number[]): void {
  const sorted = [...values].sort((a, b) => a - b);
  for (const q of QS) {
    const exact = exactQuantile(sorted, q);
    const estimate = sketch.quantile(q);
    expect(Math.abs(estimate - exact), `q ${q}: ${estimate} for ${exact}`).toBeLessThanOrEqual(0.01 * Math.abs(exact));
  }
}

function sketchOf(values: readonly number[]): QuantileSketch {
  const sketch = new QuantileSketch();
  for (const v of values) sketch.add(v);
  return sketch;
}

/** A standard normal deviate (Box-Muller) from a seeded source. */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

describe('xxHash64 of UTF-8 bytes', () => {
  // Reference values from libxxhash 0.8 (XXH64 with seed 0 over the UTF-8 bytes).
  it.each([
    ['', 'ef46db3751d8e999'],
    ['a', 'd24ec4f1a98c6e5b'],
    ['abc', '44bc2cf5ad770999'],
    ['hello world', '45ab6734b21e6968'],
    ['user-12345', '64797fca50bfc10c'],
    ['x'.repeat(31), '60dd0d01083b99f0'],
    ['y'.repeat(32), '64da1f1d3495ce66'],
    ['The quick brown fox jumps over the lazy dog, again and again!', '7df332986bb20e35'],
    ['héllo wörld ✓ 😀', '48f36cdd446de87d'],
  ])('%j hashes as libxxhash does', (text, hex) => {
    hashString(text);
    expect((HASH[0]! >>> 0).toString(16).padStart(8, '0') + (HASH[1]! >>> 0).toString(16).padStart(8, '0')).toBe(hex);
  });

  it('hashes a lone surrogate as U+FFFD, as the text would be written out', () => {
    hashString('a\ud800b');
    const lone = [...HASH];
    hashString('a\ufffdb');
    expect(lone).toEqual([...HASH]);
  });
});

describe('QuantileSketch (DDSketch): each quantile within 1% of the exact value at its rank', () => {
  const random = seededRandom(16);

  it.each([
    ['log-normal (skewed)', () => Math.exp(3 + 1.5 * normal(random))],
    ['uniform', () => 1 + random() * 999],
    ['uniform across zero', () => (random() - 0.5) * 2000],
    ['latencies in ms with a long tail', () => (random() < 0.99 ? 5 + random() * 20 : 200 + random() * 5000)],
  ])('%s, for 1, 2, 10, 1000 and 100000 values', (_name, draw) => {
    for (const n of [1, 2, 10, 1000, 100_000]) {
      const values = Array.from({ length: n }, draw);
      expectWithinOnePercent(sketchOf(values), values);
    }
  });

  it('constant data gives the constant exactly, at every quantile', () => {
    for (const c of [250, -3.5, 0, 1e-300, 1.7e308]) {
      const sketch = sketchOf(Array.from({ length: 1000 }, () => c));
      for (const q of QS) expect(sketch.quantile(q)).toBe(c);
    }
  });

  it('one value is every quantile, exactly; of two values, the lower is the median and the top every higher quantile', () => {
    expect(sketchOf([42.42]).quantile(0.5)).toBe(42.42);
    const two = sketchOf([10, 1000]);
    expect(two.quantile(0)).toBe(10);
    expect(two.quantile(0.5)).toBe(10);
    expect(two.quantile(0.51)).toBe(1000);
    expect(two.quantile(0.99)).toBe(1000);
    expect(two.quantile(1)).toBe(1000);
  });

  it('negative values, zeros and positive ones together', () => {
    const values = [-1000, -100, -10, -1, 0, 0, 0, 1, 10, 100, 1000, -0.001, 0.001];
    expectWithinOnePercent(sketchOf(values), values);
  });

  it('any finite magnitude has a bucket: the smallest subnormal to the largest double', () => {
    const values = [5e-324, 1e-300, 1e-10, 1, 1e10, 1e300, Number.MAX_VALUE];
    expectWithinOnePercent(sketchOf(values), values);
    const negatives = values.map((v) => -v);
    expectWithinOnePercent(sketchOf(negatives), negatives);
  });

  it('merged sketches answer as one sketch of all the values (negative ones included), in any order', () => {
    const values = Array.from({ length: 30_000 }, () => (random() < 0.3 ? -1 : 1) * Math.exp(5 * normal(random)));
    const whole = sketchOf(values);
    const parts = [values.slice(0, 7000), values.slice(7000, 7001), values.slice(7001, 20_000), values.slice(20_000)];
    const forward = new QuantileSketch();
    const backward = new QuantileSketch();
    for (const part of parts) forward.merge(new ByteReader(encoded(sketchOf(part))));
    for (const part of [...parts].reverse()) backward.merge(new ByteReader(encoded(sketchOf(part))));
    for (const q of QS) {
      expect(forward.quantile(q)).toBe(whole.quantile(q));
      expect(backward.quantile(q)).toBe(whole.quantile(q));
    }
    expect(forward.count).toBe(30_000);
    expectWithinOnePercent(forward, values);
  });

  it('encodes compactly (version tag, min, max, zeros, non-empty buckets) and decodes to the same answers', () => {
    const values = Array.from({ length: 100_000 }, () => Math.exp(3 + normal(random)));
    const sketch = sketchOf(values);
    const bytes = encoded(sketch);
    expect(bytes[0]).toBe(QUANTILE_SKETCH_V1);
    // e^0 .. e^6 spans about 300 buckets of 2 %: a few bytes each, not 8 per value.
    expect(bytes.length).toBeLessThan(2000);
    const decoded = decodedQuantiles(bytes);
    for (const q of QS) expect(decoded.quantile(q)).toBe(sketch.quantile(q));
    expect(encoded(decoded)).toEqual(bytes);
  });

  it('refuses damaged data instead of reading it as a sketch', () => {
    const bytes = encoded(sketchOf([1, 2, 3]));
    expect(() => decodedQuantiles(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodedQuantiles(Uint8Array.of(9, ...bytes.subarray(1)))).toThrow(/not a quantile sketch/);
  });
});

describe('quantile results', () => {
  it('are rounded to 5 significant digits, except the smallest and largest values, which are exact', () => {
    const reducer = quantileReducer([0, 0.5, 1]);
    const sketch = sketchOf([1.234567, 50, 98.76543]);
    const [low, mid, high] = reducer.sketch!.result(sketch) as number[];
    expect(low).toBe(1.234567);
    expect(high).toBe(98.76543);
    expect(String(mid).replace(/^0\.0*|\./g, '').length).toBeLessThanOrEqual(5);
    expect(Math.abs(mid! - 50)).toBeLessThanOrEqual(0.5);
  });
});

describe('DistinctSketch: exact up to 1024 values, then HyperLogLog (precision 16) within 2%', () => {
  const random = seededRandom(17);

  it('counts small sets exactly, whatever the repeats', () => {
    for (const n of [0, 1, 2, 10, 100, 1000, EXACT_LIMIT]) {
      const sketch = new DistinctSketch();
      for (let i = 0; i < n * 3; i++) sketch.addString(`user-${i % n}`);
      expect(sketch.estimate()).toBe(n);
      expect(encoded(sketch)[0]).toBe(DISTINCT_EXACT_V1);
    }
  });

  it('tells apart values that differ in any byte: case, spaces, unicode', () => {
    const sketch = new DistinctSketch();
    for (const v of ['a', 'A', 'a ', ' a', 'é', 'e\u0301', '😀', '1', '1.0', '01']) sketch.addString(v);
    sketch.addString('a');
    expect(sketch.estimate()).toBe(10);
  });

  it.each([1025, 2000, 10_000, 100_000, 1_000_000])('%i distinct values come out within 2%%', (n) => {
    const sketch = new DistinctSketch();
    const offset = Math.floor(random() * 1e9);
    for (let i = 0; i < n; i++) sketch.addString(String(offset + i));
    // Every value again: repeats change nothing.
    for (let i = 0; i < n; i += 7) sketch.addString(String(offset + i));
    expect(Math.abs(sketch.estimate() - n) / n).toBeLessThan(0.02);
  });

  it('merges as a union: overlapping sets count the shared values once, in any order', () => {
    for (const [n, overlap] of [
      [300, 100],
      [900, 400],
      [60_000, 20_000],
    ] as const) {
      const a = new DistinctSketch();
      const b = new DistinctSketch();
      for (let i = 0; i < n; i++) a.addString(`v${i}`);
      for (let i = n - overlap; i < 2 * n - overlap; i++) b.addString(`v${i}`);
      const expected = 2 * n - overlap;
      const ab = decodedDistinct(encoded(a));
      ab.merge(new ByteReader(encoded(b)));
      const ba = decodedDistinct(encoded(b));
      ba.merge(new ByteReader(encoded(a)));
      const all = new DistinctSketch();
      for (let i = 0; i < expected; i++) all.addString(`v${i}`);
      expect(ab.estimate()).toBe(all.estimate());
      expect(ba.estimate()).toBe(all.estimate());
      if (expected <= EXACT_LIMIT) expect(ab.estimate()).toBe(expected);
      else expect(Math.abs(ab.estimate() - expected) / expected).toBeLessThan(0.02);
    }
  });

  it('an exact set merged into registers, and registers into an exact set, give the union', () => {
    const big = new DistinctSketch();
    for (let i = 0; i < 50_000; i++) big.addString(`u${i}`);
    const small = new DistinctSketch();
    for (let i = 49_900; i < 50_100; i++) small.addString(`u${i}`);
    const one = decodedDistinct(encoded(big));
    one.merge(new ByteReader(encoded(small)));
    const other = decodedDistinct(encoded(small));
    other.merge(new ByteReader(encoded(big)));
    expect(one.estimate()).toBe(other.estimate());
    expect(Math.abs(one.estimate() - 50_100) / 50_100).toBeLessThan(0.02);
  });

  it('encodes registers sparse while few are set, dense (49152 bytes) once many are; both decode to the same estimate', () => {
    const sparse = new DistinctSketch();
    for (let i = 0; i < 2000; i++) sparse.addString(`s${i}`);
    const sparseBytes = encoded(sparse);
    expect(sparseBytes[0]).toBe(DISTINCT_SPARSE_V1);
    expect(sparseBytes.length).toBeLessThan(2000 * 3 + 10);
    expect(decodedDistinct(sparseBytes).estimate()).toBe(sparse.estimate());
    const dense = new DistinctSketch();
    for (let i = 0; i < 200_000; i++) dense.addString(`d${i}`);
    const denseBytes = encoded(dense);
    expect(denseBytes[0]).toBe(DISTINCT_DENSE_V1);
    expect(denseBytes.length).toBe(1 + 49152);
    expect(decodedDistinct(denseBytes).estimate()).toBe(dense.estimate());
    expect(encoded(decodedDistinct(denseBytes))).toEqual(denseBytes);
  });

  it('refuses damaged data', () => {
    const bytes = encoded(new DistinctSketch());
    expect(() => decodedDistinct(Uint8Array.of(DISTINCT_EXACT_V1, 3, 1, 2))).toThrow(/truncated/);
    expect(() => decodedDistinct(Uint8Array.of(77, ...bytes.subarray(1)))).toThrow(/not a distinct sketch/);
    expect(() => decodedDistinct(Uint8Array.of(DISTINCT_SPARSE_V1, 1, 5, 60))).toThrow(/bad register/);
  });
});

describe('SketchTable and the summarizers of quantile and distinct', () => {
  it('a delta of several keys round-trips through its sketch column; keys merge across deltas', () => {
    const first = new SketchTable(() => new DistinctSketch());
    for (const [key, value] of [['/a', 'u1'], ['/a', 'u2'], ['/b', 'u1'], ['/a', 'u1']]) first.record(key!).addString(value!);
    const second = new SketchTable(() => new DistinctSketch());
    for (const [key, value] of [['/a', 'u3'], ['/c', 'u9'], ['/a', 'u2']]) second.record(key!).addString(value!);
    checkSketchColumn(first.sketches, first.size, 'distinct');
    const merged = summarizerFor(reducerFor('distinct', null))([first, second]);
    expect(new Map(merged.rows())).toEqual(new Map([['/a', 3], ['/b', 1], ['/c', 1]]));
    const counts = new SketchTable(() => new DistinctSketch());
    counts.addDelta(first);
    counts.addDelta(second);
    expect([...counts.counts.subarray(0, counts.size)]).toEqual([5, 1, 1]);
  });

  it('quantile rows hold one value per q, in ascending q', () => {
    const table = new SketchTable(() => new QuantileSketch());
    for (let i = 1; i <= 100; i++) table.record('k').add(i);
    const [[key, values]] = summarizerFor(reducerFor('quantile', [0.5, 0.9, 0.99]))([table]).rows() as Array<[string, number[]]>;
    expect(key).toBe('k');
    expect(values).toHaveLength(3);
    const exact = [50, 90, 99];
    values!.forEach((v, i) => expect(Math.abs(v - exact[i]!)).toBeLessThanOrEqual(0.01 * exact[i]!));
  });

  it('a column with a damaged sketch, or more or fewer sketches than keys, is refused', () => {
    const table = new SketchTable(() => new QuantileSketch());
    table.record('a').add(1);
    table.record('b').add(2);
    const column = table.sketches.slice();
    expect(() => checkSketchColumn(column, 2, null)).not.toThrow();
    expect(() => checkSketchColumn(column, 1, null)).toThrow(/more sketch data than keys/);
    expect(() => checkSketchColumn(column, 3, null)).toThrow(/truncated/);
    expect(() => checkSketchColumn(column.subarray(0, column.length - 2), 2, null)).toThrow(/truncated/);
  });
});
