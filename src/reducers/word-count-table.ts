import type { DeltaColumns, ResultRow } from '../model.js';
import type { WordTally } from '../records/words.js';
import type { WindowTable } from './window-table.js';

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 16777619;

// A record in the arena, 8-byte aligned: count since the last settle (f64), key
// length (i32), key hash (i32), then the key's UTF-8 bytes. Records are addressed
// in 8-byte units.
const LENGTH = 2; // i32 offset of the key length
const HASH = 3; // i32 offset of the key hash
const KEY = 16; // byte offset of the key
const EMPTY = 0;

/**
 * The word-count hot path: splits UTF-8 bytes on ASCII whitespace and counts
 * each word in an open-addressing hash table keyed by the word's bytes. No
 * string is made per word; a key is decoded once, when the table is read.
 * Splitting bytes equals splitting the decoded text, because UTF-8 never uses
 * bytes below 0x80 inside a multi-byte character.
 *
 * Laid out for the cache: a slot is 4 bytes (the record's place), and a
 * record holds hash, length and count beside the key bytes, so a repeated
 * word touches two cache lines. The table lives as long as its window receives words:
 * `settle()` zeroes the counts after a commit but keeps the keys, so the next
 * commit writes only the keys that moved and no key is inserted again.
 */
export class WordCountTable implements WindowTable {
  /** Record unit + 1 per slot; 0 marks an empty slot. */
  private slots: Int32Array;
  private slotMask: number;
  private arena!: Buffer;
  private arenaF64!: Float64Array;
  private arenaI32!: Int32Array;
  /** Bytes of the arena in use; always a multiple of 8. */
  private used = 0;
  private entries = 0;
  /** Counts settled so far, in first-seen order; made at the first settle. */
  private totals: Float64Array | null = null;

  constructor(capacity = 4096) {
    const slotCount = nextPowerOfTwo(capacity * 2);
    this.slots = new Int32Array(slotCount);
    this.slotMask = slotCount - 1;
    this.useArena(new ArrayBuffer(capacity * 24));
  }

  get size(): number {
    return this.entries;
  }

  /** Every key and its count since the last settle, in first-seen order. */
  rows(): ResultRow[] {
    const rows = new Array<ResultRow>(this.entries);
    let e = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      const key = this.arena.toString('utf8', unit * 8 + KEY, unit * 8 + KEY + this.arenaI32[unit * 2 + LENGTH]!);
      rows[e++] = [key, this.arenaF64[unit]!];
    }
    return rows;
  }

  /**
   * The rows as UTF-8 JSON text, `[["key",count],...]`, written from the key
   * bytes: a window of a million keys is stored without a string per key.
   */
  rowsJson(): Buffer {
    const arena = this.arena;
    const f64 = this.arenaF64;
    const i32 = this.arenaI32;
    let length = 2 + Math.max(0, this.entries - 1);
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      const from = unit * 8 + KEY;
      const to = from + i32[unit * 2 + LENGTH]!;
      length += 5 + writeCount(null, 0, f64[unit]!);
      for (let b = from; b < to; b++) length += escapedLength(arena[b]!);
    }
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    out[at++] = 0x5b; // [
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      if (at > 1) out[at++] = 0x2c; // ,
      out[at++] = 0x5b;
      out[at++] = 0x22; // "
      const from = unit * 8 + KEY;
      const to = from + i32[unit * 2 + LENGTH]!;
      for (let b = from; b < to; b++) {
        const c = arena[b]!;
        if (c === 0x22 || c === 0x5c) {
          out[at++] = 0x5c;
          out[at++] = c;
        } else if (c < 0x20) {
          at += out.write(`\\u00${c < 0x10 ? '0' : ''}${c.toString(16)}`, at, 'latin1');
        } else {
          out[at++] = c;
        }
      }
      out[at++] = 0x22;
      out[at++] = 0x2c;
      at += writeCount(out, at, f64[unit]!);
      out[at++] = 0x5d; // ]
    }
    out[at++] = 0x5d;
    return out;
  }

  /** Counts every word in bytes[start, end) and adds words and lines seen to `tally`. */
  addWords(bytes: Uint8Array, start: number, end: number, tally: WordTally): void {
    // Lines end in a newline, so a word ends at whitespace before `end` and the scan needs no
    // bounds check per byte; only a final line without one (the end of input) is scanned checked.
    const safeEnd = end > start && !isSpace(bytes[end - 1]!) ? lastSpace(bytes, start, end) : end;
    let words = 0;
    let lines = 0;
    let i = start;
    while (i < safeEnd) {
      let c = bytes[i]!;
      if (isSpace(c)) {
        if (c === 10) lines++;
        i++;
        continue;
      }
      const wordStart = i;
      let h = FNV_OFFSET;
      do {
        h = Math.imul(h ^ c, FNV_PRIME);
        c = bytes[++i]!;
      } while (!isSpace(c));
      this.countKey(bytes, wordStart, i - wordStart, h, 1);
      words++;
    }
    if (safeEnd < end) {
      let h = FNV_OFFSET;
      for (let k = safeEnd; k < end; k++) h = Math.imul(h ^ bytes[k]!, FNV_PRIME);
      this.countKey(bytes, safeEnd, end - safeEnd, h, 1);
      words++;
      lines++;
    } else if (end > start && bytes[end - 1] !== 10) lines++;
    tally.words += words;
    tally.lines += lines;
  }

  /**
   * Adds committed counts whose keys are still encoded (UTF-8, NUL-separated):
   * a finalization merges deltas without making a string per key per delta.
   */
  addEncodedCounts(keyBlob: Uint8Array, counts: Float64Array, size: number): void {
    const blobLength = keyBlob.length;
    let start = 0;
    for (let k = 0; k < size; k++) {
      // Hash up to the NUL that ends the key, in one pass.
      let h = FNV_OFFSET;
      let end = start;
      for (; end < blobLength; end++) {
        const c = keyBlob[end]!;
        if (c === 0) break;
        h = Math.imul(h ^ c, FNV_PRIME);
      }
      if (end === blobLength && k !== size - 1) throw new Error(`delta keys end after ${k + 1} of ${size} keys`);
      this.countKey(keyBlob, start, end - start, h, counts[k]!);
      start = end + 1;
    }
  }

  /**
   * --threads: the records counted since the last settle as they lie in the arena (one copy, no
   * key encoded), for another thread's table to add with `addRecords`.
   */
  unsettledRecords(): ArrayBuffer {
    return this.arenaF64.buffer.slice(0, this.used) as ArrayBuffer;
  }

  /** Adds another table's records (`unsettledRecords`): their keys and hashes are used as they are. */
  addRecords(records: ArrayBuffer): void {
    const f64 = new Float64Array(records);
    const i32 = new Int32Array(records);
    const bytes = new Uint8Array(records);
    for (let unit = 0; unit * 8 < records.byteLength; ) {
      const length = i32[unit * 2 + LENGTH]!;
      const n = f64[unit]!;
      if (n !== 0) this.countKey(bytes, unit * 8 + KEY, length, i32[unit * 2 + HASH]!, n);
      unit += (KEY + length + 7) >>> 3;
    }
  }

  addDelta(delta: DeltaColumns): void {
    const keyBlob = delta.keyBlob ?? Buffer.from(delta.keys.slice(0, delta.size).join('\0'), 'utf8');
    this.addEncodedCounts(keyBlob, delta.counts, delta.size);
  }

  /** The keys counted since the last `settle()` and their counts, keys encoded as a delta row stores them. */
  unsettled(): DeltaColumns {
    const f64 = this.arenaF64;
    const i32 = this.arenaI32;
    let size = 0;
    let keyBytes = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      if (f64[unit] !== 0) {
        size++;
        keyBytes += i32[unit * 2 + LENGTH]!;
      }
    }
    const keyBlob = Buffer.allocUnsafe(size === 0 ? 0 : keyBytes + size - 1);
    const counts = new Float64Array(size);
    const arena = this.arena;
    let k = 0;
    let at = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      if (f64[unit] === 0) continue;
      if (k > 0) keyBlob[at++] = 0;
      const from = unit * 8 + KEY;
      const to = from + i32[unit * 2 + LENGTH]!;
      for (let b = from; b < to; b++) keyBlob[at++] = arena[b]!;
      counts[k++] = f64[unit]!;
    }
    return deltaOf(keyBlob, counts, size);
  }

  /**
   * Once the counts are committed: adds them to the keys' totals and zeroes
   * them. The table stays, so the next commit sends only the keys that move.
   */
  settle(): true {
    if (this.totals === null || this.totals.length < this.entries) {
      const totals = new Float64Array(Math.max(this.entries, 2 * (this.totals?.length ?? 0)));
      if (this.totals !== null) totals.set(this.totals);
      this.totals = totals;
    }
    const f64 = this.arenaF64;
    const totals = this.totals;
    let e = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit), e++) {
      if (f64[unit] !== 0) {
        totals[e]! += f64[unit]!;
        f64[unit] = 0;
      }
    }
    return true;
  }

  /** Whether every count has been settled (nothing counted since the last settle). */
  isSettled(): boolean {
    const f64 = this.arenaF64;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) if (f64[unit] !== 0) return false;
    return true;
  }

  settledTotals(): WordCountTable | null {
    return this.isSettled() ? this : null;
  }

  /**
   * Turns a settled table into the sum of everything it settled, so the
   * window's other deltas can be merged on top; it is not settled again.
   */
  countTotals(): void {
    if (!this.isSettled()) throw new Error('countTotals on a table with unsettled counts');
    const f64 = this.arenaF64;
    let e = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit), e++) f64[unit] = this.totals?.[e] ?? 0;
  }

  private countKey(bytes: Uint8Array, start: number, length: number, hash: number, n: number): void {
    const slots = this.slots;
    const mask = this.slotMask;
    const i32 = this.arenaI32;
    let idx = hash & mask;
    for (;;) {
      const ref = slots[idx]!;
      if (ref === EMPTY) break;
      const unit = ref - 1;
      if (i32[unit * 2 + HASH] === hash && i32[unit * 2 + LENGTH] === length && this.sameBytes(unit * 8 + KEY, bytes, start, length)) {
        this.arenaF64[unit]! += n;
        return;
      }
      idx = (idx + 1) & mask;
    }
    this.insert(idx, bytes, start, length, hash, n);
  }

  private sameBytes(at: number, bytes: Uint8Array, start: number, length: number): boolean {
    const arena = this.arena;
    for (let k = 0; k < length; k++) {
      if (arena[at + k] !== bytes[start + k]) return false;
    }
    return true;
  }

  private insert(idx: number, bytes: Uint8Array, start: number, length: number, hash: number, n: number): void {
    const recordBytes = (KEY + length + 7) & ~7;
    if (this.used + recordBytes > this.arena.length) this.growArena(recordBytes);
    const unit = this.used / 8;
    this.arenaF64[unit] = n;
    this.arenaI32[unit * 2 + LENGTH] = length;
    this.arenaI32[unit * 2 + HASH] = hash;
    const arena = this.arena;
    const at = this.used + KEY;
    for (let k = 0; k < length; k++) arena[at + k] = bytes[start + k]!;
    this.used += recordBytes;
    this.slots[idx] = unit + 1;
    this.entries++;
    // Keep the load factor at or below one half so probes stay short.
    if (this.entries * 2 > this.slots.length) this.rehash();
  }

  private recordUnits(unit: number): number {
    return (KEY + this.arenaI32[unit * 2 + LENGTH]! + 7) >>> 3;
  }

  private useArena(buffer: ArrayBuffer): void {
    this.arena = Buffer.from(buffer);
    this.arenaF64 = new Float64Array(buffer);
    this.arenaI32 = new Int32Array(buffer);
  }

  private growArena(needed: number): void {
    const next = new ArrayBuffer(Math.max(this.arena.length * 2, this.used + needed));
    new Uint8Array(next).set(this.arena.subarray(0, this.used));
    this.useArena(next);
  }

  private rehash(): void {
    const old = this.slots;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length - 1;
    const i32 = this.arenaI32;
    for (let i = 0; i < old.length; i++) {
      const ref = old[i]!;
      if (ref === EMPTY) continue;
      let idx = i32[(ref - 1) * 2 + HASH]! & mask;
      while (slots[idx] !== EMPTY) idx = (idx + 1) & mask;
      slots[idx] = ref;
    }
    this.slots = slots;
    this.slotMask = mask;
  }

}

/** ASCII whitespace, as awk and `wc -w` split words; most bytes of a word are past 32 and fail the first test. */
function isSpace(c: number): boolean {
  return c <= 32 && (c === 32 || (c >= 9 && c <= 13));
}

/** Where the last word of bytes[start, end) starts: just past its last whitespace, or `start`. */
function lastSpace(bytes: Uint8Array, start: number, end: number): number {
  let k = end;
  while (k > start && !isSpace(bytes[k - 1]!)) k--;
  return k;
}

/** JSON's length for one byte of a UTF-8 key: quote and backslash are escaped, control bytes become \u00XX. */
function escapedLength(c: number): number {
  return c === 0x22 || c === 0x5c ? 2 : c < 0x20 ? 6 : 1;
}

/**
 * Writes a count as JSON does into `out` at `at` (or only measures it, with
 * `out` null); returns its length. Whole counts are written digit by digit.
 */
function writeCount(out: Buffer | null, at: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    const text = JSON.stringify(n);
    return out === null ? text.length : out.write(text, at, 'latin1');
  }
  let digits = 1;
  for (let power = 10; power <= n; power *= 10) digits++;
  if (out !== null) {
    let rest = n;
    for (let k = digits - 1; k >= 0; k--) {
      out[at + k] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
  }
  return digits;
}

/** A delta whose keys stay encoded until someone reads them as strings. */
function deltaOf(keyBlob: Buffer, counts: Float64Array, size: number): DeltaColumns {
  let keys: string[] | null = null;
  return {
    size,
    keyBlob,
    get keys(): string[] {
      keys ??= size === 0 ? [] : keyBlob.toString('utf8').split('\0');
      return keys;
    },
    counts,
    sums: null,
    sumLows: null,
    mins: null,
    maxs: null,
  };
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
