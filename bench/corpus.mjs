// Deterministic benchmark corpus: Zipf-like word frequencies over a fixed
// vocabulary, 8-12 words a line. Same arguments, same bytes, every time.
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** mulberry32: tiny, fast, deterministic. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeVocabulary(size, rand) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const words = new Set();
  while (words.size < size) {
    const len = 2 + Math.floor(rand() * 9);
    let w = '';
    for (let i = 0; i < len; i++) w += letters[Math.floor(rand() * 26)];
    words.add(w);
  }
  return [...words];
}

/** Writes `bytes` (approximately, whole lines) of corpus to `path` unless it already exists at that size. */
export async function ensureCorpus(path, { bytes, vocabulary, seed = 42 }) {
  if (existsSync(path) && statSync(path).size >= bytes) return path;
  await mkdir(dirname(path), { recursive: true });
  const rand = prng(seed);
  const vocab = makeVocabulary(vocabulary, rand);
  // Zipf with exponent 1 via the inverse of the harmonic CDF, tabulated.
  const cdf = new Float64Array(vocabulary);
  let total = 0;
  for (let i = 0; i < vocabulary; i++) cdf[i] = total += 1 / (i + 1);
  for (let i = 0; i < vocabulary; i++) cdf[i] /= total;
  const pick = () => {
    const r = rand();
    let lo = 0;
    let hi = vocabulary - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo];
  };
  const out = createWriteStream(path);
  let written = 0;
  while (written < bytes) {
    let block = '';
    for (let l = 0; l < 2000; l++) {
      const n = 8 + Math.floor(rand() * 5);
      let line = pick();
      for (let i = 1; i < n; i++) line += ' ' + pick();
      block += line + '\n';
    }
    written += Buffer.byteLength(block);
    if (!out.write(block)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  return path;
}
