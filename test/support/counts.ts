/**
 * Counts the tests compute on their own, independently of statesync, to
 * compare its results with: word counts as awk splits fields, key tallies,
 * per-key totals of tsv output, and generated word corpora and event files.
 */
import { expect } from 'vitest';

/** The ground truth for the default word key: tokens between runs of ASCII whitespace, as awk splits fields. */
export function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.split(/[ \t\n\r\v\f]+/)) {
    if (word.length > 0) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** Adds `from` to `into`, `times` over; zero times adds nothing (no key with a count of 0). */
export function addCounts(into: Map<string, number>, from: ReadonlyMap<string, number>, times = 1): Map<string, number> {
  if (times > 0) for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v * times);
  return into;
}

/** Words in buf[0, end), split on the same ASCII whitespace as wordCounts. */
export function wordsBefore(buf: Buffer, end: number): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < end; i++) {
    const c = buf[i]!;
    const space = c === 32 || (c >= 9 && c <= 13);
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}

export function total(counts: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

/** How many times each key occurs: the expected totals of `--key line` (or any key) over them. */
export function countKeys(keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** Human-readable differences between two count maps (at most `limit`), empty when equal. */
export function countDifferences(actual: ReadonlyMap<string, number>, expected: ReadonlyMap<string, number>, limit = 10): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const a = actual.get(key);
    const e = expected.get(key);
    if (a !== e) diffs.push(`${JSON.stringify(key)}: got ${a ?? 'nothing'}, expected ${e ?? 'nothing'}`);
    if (diffs.length >= limit) break;
  }
  return diffs;
}

/** Fails, listing the first differences, unless the two count maps are equal. */
export function expectCounts(actual: ReadonlyMap<string, number>, expected: ReadonlyMap<string, number>): void {
  const diffs = countDifferences(actual, expected, 20);
  expect(diffs, diffs.join('\n')).toEqual([]);
}

/** Per-key totals summed over all windows of a stream command's `tsv` output (keys unescaped: \t, \n, \\). */
export function tsvTotals(text: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const cols = line.split('\t');
    // start, end, key, value, revision, final
    if (cols.length !== 6) throw new Error(`not a 6-column tsv row: ${JSON.stringify(line.slice(0, 200))}`);
    const key = cols[2]!.replace(/\\(.)/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c));
    totals.set(key, (totals.get(key) ?? 0) + Number(cols[3]));
  }
  return totals;
}

/**
 * A word corpus of about `targetBytes`: lines of 1-12 words drawn from a
 * vocabulary of `vocabulary` words (some with multi-byte UTF-8), separated
 * by ASCII blanks; some CRLF line ends, some empty lines.
 */
export function generateWordCorpus(random: () => number, targetBytes: number, vocabulary: number): Buffer {
  const flavours = ['', 'é', '日本', '😀', 'Ωμ', 'e\u0301', "'s", '-x'];
  const words: string[] = [];
  for (let i = 0; i < vocabulary; i++) {
    const base = `v${i.toString(36)}`;
    words.push(i % 5 === 0 ? `${base}${flavours[(i / 5) % flavours.length]}` : base);
  }
  const separators = [' ', ' ', ' ', '\t', '  '];
  const lines: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    let line = '';
    if (random() >= 0.01) {
      const n = 1 + Math.floor(random() * 12);
      for (let i = 0; i < n; i++) {
        if (i > 0) line += separators[Math.floor(random() * separators.length)]!;
        line += words[Math.floor(random() * words.length)]!;
      }
    }
    line += random() < 0.1 ? '\r\n' : '\n';
    lines.push(line);
    bytes += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join(''), 'utf8');
}

/** Event-time records `epoch-seconds user value`, ten per second, integer values (sums stay exact). */
export function eventFile(lines: number, startEpochS: number, salt: number): { text: string; sums: Map<string, number> } {
  const out: string[] = [];
  const sums = new Map<string, number>();
  for (let i = 0; i < lines; i++) {
    const key = `u${(i * 7919 + salt) % 97}`;
    const value = ((i * 31 + salt) % 1000) - 100;
    out.push(`${startEpochS + Math.floor(i / 10)} ${key} ${value}\n`);
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return { text: out.join(''), sums };
}
