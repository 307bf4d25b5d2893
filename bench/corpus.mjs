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

/**
 * The corpus with a generated value column in front of every line: a
 * log-normal "latency" (e^(3 + N(0,1)), 3 decimals), for the quantile and
 * distinct cases (key: the line's first word, field 2; distinct value: its
 * second word, field 3). Written once next to the corpus, deterministic.
 */
export async function ensureValueCorpus(source, path, seed = 7) {
  if (existsSync(path) && statSync(path).size > statSync(source).size) return path;
  const rand = prng(seed);
  const out = createWriteStream(path);
  const { createReadStream } = await import('node:fs');
  let rest = '';
  for await (const chunk of createReadStream(source, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    let block = '';
    for (const line of lines) {
      const normal = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      block += `${Math.exp(3 + normal).toFixed(3)} ${line}\n`;
    }
    if (!out.write(block)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  return path;
}
