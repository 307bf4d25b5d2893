import { describe, expect, it } from 'vitest';
import type { DeltaColumns } from '../../src/model.js';
import { RuntimeFailure } from '../../src/errors.js';
import { countWords, type KeyCounter, type WordTally } from '../../src/records/words.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import { WordCountTable } from '../../src/reducers/word-count-table.js';
import { intBelow, pick, seededRandom } from '../support/prng.js';

// ---- an independent, obviously-correct reference ------------------------------------------

const WHITESPACE = /[ \t\n\r\v\f]+/;

function naiveWordCount(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.split(WHITESPACE)) {
    if (word === '') continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** Lines as `wc -l` would count them, plus a final line without its newline. */
function naiveLineCount(text: string): number {
  if (text === '') return 0;
  const parts = text.split('\n');
  return text.endsWith('\n') ? parts.length - 1 : parts.length;
}

function total(counts: Map<string, number>): number {
  let n = 0;
  for (const c of counts.values()) n += c;
  return n;
}

/** Reads any DeltaColumns into a Map, checking its shape on the way. */
/** A WordCountTable's rows as a map, checking each key appears once. */
function tableToMap(table: WordCountTable): Map<string, number> {
  const rows = table.rows();
  expect(rows.length).toBe(table.size);
  const map = new Map(rows as Array<[string, number]>);
  expect(map.size).toBe(rows.length);
  return map;
}

function columnsToMap(columns: DeltaColumns): Map<string, number> {
  expect(columns.keys.length).toBe(columns.size);
  expect(columns.counts.length).toBeGreaterThanOrEqual(columns.size);
  expect(new Set(columns.keys).size).toBe(columns.size);
  const map = new Map<string, number>();
  for (let i = 0; i < columns.size; i++) map.set(columns.keys[i]!, columns.counts[i]!);
  return map;
}

function expectSameCounts(actual: Map<string, number>, expected: Map<string, number>): void {
  expect(actual.size).toBe(expected.size);
  const wrong: string[] = [];
  for (const [word, count] of expected) {
    if (actual.get(word) !== count) wrong.push(`${JSON.stringify(word)}: expected ${count}, got ${actual.get(word)}`);
    if (wrong.length > 5) break;
  }
  expect(wrong).toEqual([]);
}

// ---- random text ----------------------------------------------------------------------------

const SEPARATORS = [' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\v', '\f', ' \t ', '\n\n', '\r'];
const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz',
  'ABCXYZ0123456789-_.,;:!?\'"()[]{}<>/\\@#$%^&*+=~`|',
  'àéèêëïîôöùüçñßøåæœÀÉÇ',
  '漢字仮名交じり文中文字符한국어',
  'αβγδεζηθικλμνξοπρστυφχψωЖЩЯ',
];
const EMOJI = ['😀', '👍🏽', '🇫🇷', '👨‍👩‍👧', '🎉', '∑', '\u00a0', '\u2003', '\u200b', '\ufeff'];

function randomWord(random: () => number): string {
  const length = 1 + intBelow(random, 12);
  let word = '';
  for (let i = 0; i < length; i++) {
    if (random() < 0.08) word += pick(random, EMOJI);
    else word += pick(random, [...pick(random, ALPHABETS)]);
  }
  return word;
}

function randomText(random: () => number, vocabulary: readonly string[], words: number): string {
  let text = random() < 0.5 ? pick(random, SEPARATORS) : '';
  for (let i = 0; i < words; i++) {
    text += random() < 0.05 ? randomWord(random) : pick(random, vocabulary);
    text += pick(random, SEPARATORS);
  }
  // Sometimes end without whitespace: a final line with no newline.
  if (random() < 0.5) text += pick(random, vocabulary);
  return text;
}

function vocabularyOf(random: () => number, size: number): string[] {
  return Array.from({ length: size }, () => randomWord(random));
}

/** Byte offsets just past each "\n": where the framer may cut regions. */
function newlineCuts(bytes: Buffer): number[] {
  const cuts: number[] = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) cuts.push(i + 1);
  return cuts;
}

function isSpaceByte(b: number | undefined): boolean {
  return b === 32 || (b !== undefined && b >= 9 && b <= 13);
}

/** Offsets where a word starts or ends exactly at the cut (no whitespace on one side). */
function wordEdgeCuts(bytes: Buffer): number[] {
  const cuts: number[] = [];
  for (let i = 1; i < bytes.length; i++) {
    if (isSpaceByte(bytes[i - 1]) !== isSpaceByte(bytes[i])) cuts.push(i);
  }
  return cuts;
}

function feedRegions(table: WordCountTable, bytes: Buffer, cuts: readonly number[], tally: WordTally): void {
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    table.addWords(bytes, start, cut, tally);
    start = cut;
  }
}

// ---- countWords -----------------------------------------------------------------------------

class MapCounter implements KeyCounter {
  readonly counts = new Map<string, number>();
  increment(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}

describe('countWords', () => {
  it.each([
    ['', [], 0, 0],
    ['\n', [], 0, 1],
    ['to be or not to be\n', [['to', 2], ['be', 2], ['or', 1], ['not', 1]], 6, 1],
    ['  leading and trailing  \n', [['leading', 1], ['and', 1], ['trailing', 1]], 3, 1],
    ['a\tb\nc\r\nd\ve\ff', [['a', 1], ['b', 1], ['c', 1], ['d', 1], ['e', 1], ['f', 1]], 6, 3],
    ['no newline at the end', [['no', 1], ['newline', 1], ['at', 1], ['the', 1], ['end', 1]], 5, 1],
    ['\n\n\n', [], 0, 3],
    ['x\n\ny\n', [['x', 1], ['y', 1]], 2, 3],
    ['café café 漢字 😀\n', [['café', 2], ['漢字', 1], ['😀', 1]], 4, 1],
    ['a\u00a0b c', [['a\u00a0b', 1], ['c', 1]], 2, 1],
  ] as const)('%j holds words %j (%i words, %i lines)', (text, words, wordCount, lineCount) => {
    const counter = new MapCounter();
    const tally: WordTally = { words: 0, lines: 0 };
    countWords(text, counter, tally);
    expect(counter.counts).toEqual(new Map(words));
    expect(tally).toEqual({ words: wordCount, lines: lineCount });
  });

  it('adds to the running tally rather than replacing it', () => {
    const tally: WordTally = { words: 10, lines: 4 };
    countWords('one two\nthree\n', new MapCounter(), tally);
    expect(tally).toEqual({ words: 13, lines: 6 });
  });

  it('matches a naive split-and-count over random multi-byte text', () => {
    const random = seededRandom(1);
    for (let round = 0; round < 40; round++) {
      const vocabulary = vocabularyOf(random, 1 + intBelow(random, 300));
      const text = randomText(random, vocabulary, intBelow(random, 3_000));
      const counter = new MapCounter();
      const tally: WordTally = { words: 0, lines: 0 };
      countWords(text, counter, tally);
      const expected = naiveWordCount(text);
      expectSameCounts(counter.counts, expected);
      expect(tally.words).toBe(total(expected));
      expect(tally.lines).toBe(naiveLineCount(text));
    }
  });

  it('feeds PartialTable, whose keys/counts/size columns match the naive count past several growths', () => {
    const random = seededRandom(2);
    const vocabulary = vocabularyOf(random, 20_000);
    const text = randomText(random, vocabulary, 200_000);
    const table = new PartialTable(false, 16);
    const tally: WordTally = { words: 0, lines: 0 };
    countWords(text, table, tally);
    const expected = naiveWordCount(text);
    expect(table.size).toBe(expected.size);
    expect(table.size).toBeGreaterThan(16 * 2 ** 8);
    expect(table.sums).toBeNull();
    expect(table.mins).toBeNull();
    expect(table.maxs).toBeNull();
    expectSameCounts(columnsToMap(table), expected);
    expect(tally.words).toBe(total(expected));
    expect(tally.lines).toBe(naiveLineCount(text));
  });
});

// ---- WordCountTable -------------------------------------------------------------------------

describe('WordCountTable', () => {
  it('is empty before any word: no rows, an empty delta', () => {
    const table = new WordCountTable();
    expect(table.size).toBe(0);
    expect(table.rows()).toEqual([]);
    const delta = table.unsettled();
    expect(delta.size).toBe(0);
    expect(delta.keys).toEqual([]);
    expect(delta.keyBlob).toEqual(Buffer.alloc(0));
    expect(delta.sums).toBeNull();
    expect(delta.mins).toBeNull();
    expect(delta.maxs).toBeNull();
    table.settle();
    expect(table.isSettled()).toBe(true);
  });

  it('counts the Flink word-count example', () => {
    const table = new WordCountTable();
    const tally: WordTally = { words: 0, lines: 0 };
    const bytes = Buffer.from('to be or not to be\nthat is the question\n');
    table.addWords(bytes, 0, bytes.length, tally);
    expect(tableToMap(table)).toEqual(
      new Map([['to', 2], ['be', 2], ['or', 1], ['not', 1], ['that', 1], ['is', 1], ['the', 1], ['question', 1]]),
    );
    expect(tally).toEqual({ words: 10, lines: 2 });
  });

  it('keeps keys in first-seen order, each count beside its key', () => {
    const table = new WordCountTable();
    const bytes = Buffer.from('b a b c a b\n');
    table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    expect(table.rows()).toEqual([['b', 3], ['a', 2], ['c', 1]]);
  });

  it('reads only bytes[start, end): a word cut by the region end is not extended by the bytes after it', () => {
    const bytes = Buffer.from('xx hello world yy');
    const table = new WordCountTable();
    const tally: WordTally = { words: 0, lines: 0 };
    table.addWords(bytes, 3, 8, tally); // "hello"
    table.addWords(bytes, 8, 14, tally); // " world"
    expect(tableToMap(table)).toEqual(new Map([['hello', 1], ['world', 1]]));
    expect(tally.words).toBe(2);
  });

  it('accepts a plain Uint8Array region inside a larger buffer', () => {
    const all = new TextEncoder().encode('ignored ÿ 漢字 漢字\nignored');
    const start = 'ignored '.length;
    const end = Buffer.byteLength('ignored ÿ 漢字 漢字\n');
    const table = new WordCountTable();
    const tally: WordTally = { words: 0, lines: 0 };
    table.addWords(all, start, end, tally);
    expect(tableToMap(table)).toEqual(new Map([['ÿ', 1], ['漢字', 2]]));
    expect(tally).toEqual({ words: 3, lines: 1 });
  });

  it('an empty region changes nothing', () => {
    const table = new WordCountTable();
    const tally: WordTally = { words: 0, lines: 0 };
    table.addWords(Buffer.from('abc'), 1, 1, tally);
    expect(table.size).toBe(0);
    expect(tally).toEqual({ words: 0, lines: 0 });
  });

  it('tells apart keys that share a prefix, differ by one byte, or differ only in the bytes of one character', () => {
    const words = ['a', 'aa', 'aaa', 'ab', 'ba', 'é', 'e\u0301', 'É', '漢', '漢字', '字漢', '😀', '😁', '\u00a0', 'A'];
    const text = words.map((w, i) => `${w} `.repeat(i + 1)).join('\n');
    const bytes = Buffer.from(text);
    const table = new WordCountTable(2);
    table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    expectSameCounts(tableToMap(table), naiveWordCount(text));
    expect(table.size).toBe(words.length);
  });

  it('matches the naive count over random multi-byte text fed one line-aligned region at a time', () => {
    const random = seededRandom(3);
    for (let round = 0; round < 30; round++) {
      const vocabulary = vocabularyOf(random, 1 + intBelow(random, 500));
      const text = randomText(random, vocabulary, intBelow(random, 5_000));
      const bytes = Buffer.from(text);
      const cuts = newlineCuts(bytes).filter(() => random() < 0.3);
      const table = new WordCountTable(1 + intBelow(random, 64));
      const tally: WordTally = { words: 0, lines: 0 };
      feedRegions(table, bytes, cuts, tally);
      const expected = naiveWordCount(text);
      expectSameCounts(tableToMap(table), expected);
      expect(tally.words).toBe(total(expected));
      expect(tally.lines).toBe(naiveLineCount(text));
    }
  });

  it('gives the same words when regions are cut exactly where a word starts or ends', () => {
    const random = seededRandom(4);
    for (let round = 0; round < 30; round++) {
      const vocabulary = vocabularyOf(random, 1 + intBelow(random, 200));
      const text = randomText(random, vocabulary, intBelow(random, 2_000));
      const bytes = Buffer.from(text);
      // Every word edge in some rounds, a random subset in others.
      const everyEdge = round % 3 === 0;
      const cuts = wordEdgeCuts(bytes).filter(() => everyEdge || random() < 0.2);
      const table = new WordCountTable(8);
      const tally: WordTally = { words: 0, lines: 0 };
      feedRegions(table, bytes, cuts, tally);
      const expected = naiveWordCount(text);
      expectSameCounts(tableToMap(table), expected);
      expect(tally.words).toBe(total(expected));
    }
  });

  it('agrees with countWords over the same text', () => {
    const random = seededRandom(5);
    const text = randomText(random, vocabularyOf(random, 2_000), 50_000);
    const bytes = Buffer.from(text);
    const table = new WordCountTable();
    const byteTally: WordTally = { words: 0, lines: 0 };
    feedRegions(table, bytes, newlineCuts(bytes), byteTally);
    const counter = new MapCounter();
    const textTally: WordTally = { words: 0, lines: 0 };
    countWords(text, counter, textTally);
    expectSameCounts(tableToMap(table), counter.counts);
    expect(byteTally).toEqual(textTally);
  });

  it('stays exact past >100k distinct keys (many rehashes, entry and arena growths), repeated and new words mixed', () => {
    const random = seededRandom(6);
    const distinct = 120_000;
    // Distinct words of varied byte lengths: ASCII, accented, CJK and emoji.
    const vocabulary = Array.from({ length: distinct }, (_, i) => {
      const flavour = i % 4;
      const base = i.toString(36);
      return flavour === 0 ? base : flavour === 1 ? `é${base}ü` : flavour === 2 ? `漢${base}字` : `${base}😀👍🏽`;
    });
    const chunks: string[] = [];
    for (let i = 0; i < distinct; i++) {
      chunks.push(vocabulary[i]!);
      // Repeat earlier words (including very hot ones) between new ones.
      if (i % 3 === 0) chunks.push(vocabulary[intBelow(random, i + 1)]!);
      if (i % 5 === 0) chunks.push(vocabulary[intBelow(random, 10)]!);
      chunks.push(i % 97 === 0 ? '\n' : pick(random, [' ', '\t', ' ']));
    }
    const text = chunks.join(' ');
    const bytes = Buffer.from(text);
    const table = new WordCountTable(4);
    const tally: WordTally = { words: 0, lines: 0 };
    feedRegions(table, bytes, newlineCuts(bytes), tally);
    const expected = naiveWordCount(text);
    expect(expected.size).toBe(distinct);
    expect(table.size).toBe(distinct);
    expectSameCounts(tableToMap(table), expected);
    expect(tally.words).toBe(total(expected));
    expect(tally.lines).toBe(naiveLineCount(text));
    // Counting more of the same words after the growths still lands on the right entries.
    const again = Buffer.from(`${vocabulary[0]} ${vocabulary[distinct - 1]} ${vocabulary[distinct >> 1]}\n`);
    table.addWords(again, 0, again.length, tally);
    const after = tableToMap(table);
    expect(after.size).toBe(distinct);
    expect(after.get(vocabulary[0]!)).toBe(expected.get(vocabulary[0]!)! + 1);
    expect(after.get(vocabulary[distinct - 1]!)).toBe(expected.get(vocabulary[distinct - 1]!)! + 1);
    expect(after.get(vocabulary[distinct >> 1]!)).toBe(expected.get(vocabulary[distinct >> 1]!)! + 1);
  });

  it('keeps its keys when an input larger than any before moves its index and records (a 3 MB word, then more)', () => {
    const table = new WordCountTable(2);
    const tally: WordTally = { words: 0, lines: 0 };
    const first = Buffer.from('alpha beta alpha\n');
    table.addWords(first, 0, first.length, tally);
    const huge = 'w'.repeat(3_000_000);
    const big = Buffer.from(`beta ${huge} gamma\n${huge}`);
    table.addWords(big, 0, big.length, tally);
    const last = Buffer.from('alpha gamma\n');
    table.addWords(last, 0, last.length, tally);
    expectSameCounts(tableToMap(table), new Map([['alpha', 3], ['beta', 2], [huge, 2], ['gamma', 2]]));
    expect(tally).toEqual({ words: 9, lines: 4 });
    // Records and deltas with such a key travel whole.
    const copy = new WordCountTable(2);
    copy.addRecords(table.unsettledRecords());
    const delta = table.unsettled();
    copy.addEncodedCounts(delta.keyBlob!, delta.counts, delta.size);
    expect(tableToMap(copy).get(huge)).toBe(4);
  });

  it('a kernel trap (a table that cannot grow, or records it cannot read) is a RuntimeFailure naming the limit', () => {
    const table = new WordCountTable(2);
    table.addWords(Buffer.from('a b\n'), 0, 4, { words: 0, lines: 0 });
    // One record that claims a key of almost 4 GiB: no memory holds it beside the table.
    const record = new ArrayBuffer(24);
    new Float64Array(record, 0, 1)[0] = 1;
    new Uint32Array(record, 8, 2).set([0xfffdfff0, 0]);
    let thrown: unknown;
    try {
      table.addRecords(record);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RuntimeFailure);
    expect((thrown as Error).message).toMatch(/^a window's word table failed \(.+\): one holds at most 4 GiB of words and index, so a window with more distinct words needs a shorter --window$/);
  });

  it('refuses a delta whose key blob ends before its count of keys, naming where', () => {
    const table = new WordCountTable(2);
    expect(() => table.addEncodedCounts(Buffer.from('a\0b'), new Float64Array([1, 2, 3]), 3)).toThrow('delta keys end after 2 of 3 keys');
  });

  it('rows reflect words added after an earlier read of rows', () => {
    const table = new WordCountTable();
    const tally: WordTally = { words: 0, lines: 0 };
    const first = Buffer.from('alpha beta\n');
    table.addWords(first, 0, first.length, tally);
    expect(table.rows()).toEqual([['alpha', 1], ['beta', 1]]);
    const second = Buffer.from('beta gamma\n');
    table.addWords(second, 0, second.length, tally);
    expect(table.rows()).toEqual([['alpha', 1], ['beta', 2], ['gamma', 1]]);
  });

  it('owns its key bytes: reusing the input buffer afterwards does not change the keys', () => {
    const table = new WordCountTable();
    const bytes = Buffer.from('apple banana\n');
    table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    bytes.fill(0x7a);
    expect(table.rows()).toEqual([['apple', 1], ['banana', 1]]);
    expect(table.unsettled().keys).toEqual(['apple', 'banana']);
  });

  it('unsettled() holds the keys counted since the last settle, NUL-joined as a delta row stores them', () => {
    const table = new WordCountTable();
    const tally: WordTally = { words: 0, lines: 0 };
    const first = Buffer.from('to be or not to be\n');
    table.addWords(first, 0, first.length, tally);
    const delta = table.unsettled();
    expect(delta.size).toBe(4);
    expect(Buffer.from(delta.keyBlob!).toString('utf8')).toBe('to\0be\0or\0not');
    expect(delta.keys).toEqual(['to', 'be', 'or', 'not']);
    expect([...delta.counts]).toEqual([2, 2, 1, 1]);
    table.settle();
    // Keys stay after a settle; only what is counted next appears in the next delta.
    expect(table.size).toBe(4);
    expect(table.unsettled().size).toBe(0);
    expect(table.isSettled()).toBe(true);
    const second = Buffer.from('be café\n');
    table.addWords(second, 0, second.length, tally);
    const next = table.unsettled();
    expect(next.keys).toEqual(['be', 'café']);
    expect([...next.counts]).toEqual([1, 1]);
    expect(table.size).toBe(5);
  });

  it('deltas taken between settles add up to the naive count, and merge back through addEncodedCounts', () => {
    const random = seededRandom(7);
    const vocabulary = vocabularyOf(random, 3_000);
    const text = randomText(random, vocabulary, 40_000);
    const bytes = Buffer.from(text);
    const cuts = newlineCuts(bytes);
    const table = new WordCountTable(2);
    const merged = new WordCountTable(2);
    const summed = new Map<string, number>();
    let start = 0;
    for (const cut of [...cuts, bytes.length]) {
      table.addWords(bytes, start, cut, { words: 0, lines: 0 });
      start = cut;
      if (random() < 0.05) {
        const delta = table.unsettled();
        for (let i = 0; i < delta.size; i++) summed.set(delta.keys[i]!, (summed.get(delta.keys[i]!) ?? 0) + delta.counts[i]!);
        merged.addEncodedCounts(delta.keyBlob!, delta.counts, delta.size);
        table.settle();
      }
    }
    const last = table.unsettled();
    merged.addEncodedCounts(last.keyBlob!, last.counts, last.size);
    for (let i = 0; i < last.size; i++) summed.set(last.keys[i]!, (summed.get(last.keys[i]!) ?? 0) + last.counts[i]!);
    const expected = naiveWordCount(text);
    expectSameCounts(summed, expected);
    expectSameCounts(tableToMap(merged), expected);
  });

  it('records handed over between settles (--threads) add up to the naive count in another table, keys not moved since the last settle left out', () => {
    const random = seededRandom(8);
    const text = randomText(random, vocabularyOf(random, 3_000), 40_000);
    const bytes = Buffer.from(text);
    const counting = new WordCountTable(2);
    const merged = new WordCountTable(2);
    let start = 0;
    for (const cut of [...newlineCuts(bytes), bytes.length]) {
      counting.addWords(bytes, start, cut, { words: 0, lines: 0 });
      start = cut;
      if (random() < 0.05) {
        merged.addRecords(counting.unsettledRecords());
        counting.settle();
      }
    }
    merged.addRecords(counting.unsettledRecords());
    expectSameCounts(tableToMap(merged), naiveWordCount(text));

    // After a settle, only what moved is added: no key with a count of 0.
    const only = new WordCountTable();
    const again = new WordCountTable();
    again.addWords(Buffer.from('a b\n'), 0, 4, { words: 0, lines: 0 });
    again.settle();
    again.addWords(Buffer.from('a\n'), 0, 2, { words: 0, lines: 0 });
    only.addRecords(again.unsettledRecords());
    expect(only.rows()).toEqual([['a', 1]]);
    // Only the moved records are handed over: runs of them, wherever they lie.
    const sparse = new WordCountTable();
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}-${'x'.repeat(i % 13)}`);
    sparse.addWords(Buffer.from(`${keys.join(' ')}\n`), 0, keys.join(' ').length + 1, { words: 0, lines: 0 });
    sparse.settle();
    const moved = keys.filter((_, i) => i % 7 < 3 || i === 49);
    const movedText = Buffer.from(`${moved.join(' ')} ${moved[0]}\n`);
    sparse.addWords(movedText, 0, movedText.length, { words: 0, lines: 0 });
    const handed = sparse.unsettledRecords();
    const receiver = new WordCountTable();
    receiver.addRecords(handed);
    expect(receiver.rows()).toEqual(moved.map((k, i) => [k, i === 0 ? 2 : 1]));
    expect(handed.byteLength).toBe(moved.reduce((bytes, k) => bytes + ((16 + Buffer.byteLength(k) + 7) & ~7), 0));
  });

  it('rowsJson() is the JSON of rows(), escaping quotes, backslashes and control bytes', () => {
    const table = new WordCountTable(2);
    expect(table.rowsJson().toString('utf8')).toBe('[]');
    const keys = ['plain', 'quo"te', 'back\\slash', 'ctl\u0001x', 'bs\u0008', 'del\u007f', 'café', '漢字', '😀', '"', '\\'];
    const text = keys.map((k, i) => `${k} `.repeat(i + 1)).join('\n');
    const bytes = Buffer.from(text);
    table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    const json = table.rowsJson().toString('utf8');
    expect(JSON.parse(json)).toEqual(table.rows());
    expect(json).toBe(JSON.stringify(table.rows()).replace('\\b', '\\u0008'));
  });

  it('rowsJson() writes large and non-integer counts as JSON does', () => {
    const table = new WordCountTable();
    const big = 2 ** 53 - 1;
    const delta = { keyBlob: Buffer.from('a\0b\0c\0d'), counts: Float64Array.from([big, 10, 1e21, 0.5]) };
    table.addEncodedCounts(delta.keyBlob, delta.counts, 4);
    expect(table.rowsJson().toString('utf8')).toBe(`[["a",${big}],["b",10],["c",1e+21],["d",0.5]]`);
  });
});
