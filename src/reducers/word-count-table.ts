import type { DeltaColumns } from '../model.js';
import type { WordTally } from '../records/words.js';

const EMPTY = 0;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

/**
 * The word-count hot path: splits UTF-8 bytes on ASCII whitespace and counts
 * each word in an open-addressing hash table keyed by the word's bytes. No
 * string is made per word; a key is decoded once, when the table is read at
 * commit time. Splitting bytes equals splitting the decoded text, because
 * UTF-8 never uses bytes below 0x80 inside a multi-byte character.
 */
export class WordCountTable implements DeltaColumns {
  readonly sums = null;
  readonly sumLows = null;
  readonly mins = null;
  readonly maxs = null;
  counts: Float64Array;
  private slots: Int32Array;
  private mask: number;
  private hashes: Int32Array;
  private keyStarts: Int32Array;
  private keyLengths: Int32Array;
  private arena: Buffer;
  private arenaUsed = 0;
  private entries = 0;
  private decoded: string[] | null = null;

  constructor(capacity = 4096) {
    const slotCount = nextPowerOfTwo(capacity * 2);
    this.slots = new Int32Array(slotCount);
    this.mask = slotCount - 1;
    this.hashes = new Int32Array(capacity);
    this.keyStarts = new Int32Array(capacity);
    this.keyLengths = new Int32Array(capacity);
    this.counts = new Float64Array(capacity);
    this.arena = Buffer.allocUnsafe(capacity * 8);
  }

  get size(): number {
    return this.entries;
  }

  /** Keys in slot order, decoded on first access after the last change. */
  get keys(): readonly string[] {
    if (this.decoded === null || this.decoded.length !== this.entries) {
      const keys = new Array<string>(this.entries);
      for (let e = 0; e < this.entries; e++) {
        const start = this.keyStarts[e]!;
        keys[e] = this.arena.toString('utf8', start, start + this.keyLengths[e]!);
      }
      this.decoded = keys;
    }
    return this.decoded;
  }

  /** Counts every word in bytes[start, end) and adds words and lines seen to `tally`. */
  addWords(bytes: Uint8Array, start: number, end: number, tally: WordTally): void {
    let words = 0;
    let lines = 0;
    let i = start;
    while (i < end) {
      let c = bytes[i]!;
      if (c === 32 || (c >= 9 && c <= 13)) {
        if (c === 10) lines++;
        i++;
        continue;
      }
      const wordStart = i;
      let h = FNV_OFFSET;
      // Never read past `end`: an out-of-bounds typed-array read deoptimizes this loop,
      // and after enough of them (one per chunk) V8 stops optimizing it at all.
      for (;;) {
        h = Math.imul(h ^ c, FNV_PRIME);
        if (++i >= end) break;
        c = bytes[i]!;
        if (c === 32 || (c >= 9 && c <= 13)) break;
      }
      this.countKey(bytes, wordStart, i - wordStart, h);
      words++;
    }
    if (end > start && bytes[end - 1] !== 10) lines++;
    tally.words += words;
    tally.lines += lines;
  }

  /**
   * Adds committed counts whose keys are still encoded (UTF-8, NUL-separated):
   * a finalization merges deltas without making a string per key per delta.
   */
  addEncodedCounts(keyBlob: Uint8Array, counts: Float64Array, size: number): void {
    let start = 0;
    for (let k = 0; k < size; k++) {
      let end = keyBlob.indexOf(0, start);
      if (end < 0) end = keyBlob.length;
      if (end === keyBlob.length && k !== size - 1) throw new Error(`delta keys end after ${k + 1} of ${size} keys`);
      let h = FNV_OFFSET;
      for (let i = start; i < end; i++) h = Math.imul(h ^ keyBlob[i]!, FNV_PRIME);
      this.countKey(keyBlob, start, end - start, h, counts[k]!);
      start = end + 1;
    }
  }

  private countKey(bytes: Uint8Array, start: number, length: number, hash: number, n = 1): void {
    const slots = this.slots;
    const mask = this.mask;
    let idx = hash & mask;
    for (;;) {
      const slot = slots[idx]!;
      if (slot === EMPTY) break;
      const e = slot - 1;
      if (this.hashes[e] === hash && this.keyLengths[e] === length && this.sameBytes(e, bytes, start, length)) {
        this.counts[e]! += n;
        return;
      }
      idx = (idx + 1) & mask;
    }
    this.insert(idx, bytes, start, length, hash, n);
  }

  private sameBytes(e: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    const keyStart = this.keyStarts[e]!;
    for (let k = 0; k < length; k++) {
      if (arena[keyStart + k] !== bytes[start + k]) return false;
    }
    return true;
  }

  private insert(idx: number, bytes: Uint8Array, start: number, length: number, hash: number, n: number): void {
    const e = this.entries;
    if (e === this.counts.length) this.growEntries();
    if (this.arenaUsed + length > this.arena.length) this.growArena(length);
    this.arena.set(bytes.subarray(start, start + length), this.arenaUsed);
    this.keyStarts[e] = this.arenaUsed;
    this.keyLengths[e] = length;
    this.hashes[e] = hash;
    this.counts[e] = n;
    this.arenaUsed += length;
    this.slots[idx] = e + 1;
    this.entries = e + 1;
    // Keep the load factor at or below one half so probes stay short.
    if (this.entries * 2 > this.slots.length) this.rehash();
  }

  private growEntries(): void {
    const capacity = this.counts.length * 2;
    this.hashes = grow(this.hashes, new Int32Array(capacity));
    this.keyStarts = grow(this.keyStarts, new Int32Array(capacity));
    this.keyLengths = grow(this.keyLengths, new Int32Array(capacity));
    this.counts = grow(this.counts, new Float64Array(capacity));
  }

  private growArena(needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.arenaUsed + needed));
    this.arena.copy(next, 0, 0, this.arenaUsed);
    this.arena = next;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.entries; e++) {
      let idx = this.hashes[e]! & mask;
      while (slots[idx] !== EMPTY) idx = (idx + 1) & mask;
      slots[idx] = e + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function grow<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
