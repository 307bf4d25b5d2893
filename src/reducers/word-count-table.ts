import { RuntimeFailure } from '../errors.js';
import type { DeltaColumns, ResultRow } from '../model.js';
import type { WordTally } from '../records/words.js';
import type { WindowTable } from './window-table.js';
import { WORD_COUNT_WASM } from './wasm/word-count-wasm.js';

// A record in the arena, 8-byte aligned: count since the last settle (f64), key
// length (i32), key hash (i32, which only the kernel reads), then the key's UTF-8 bytes (wasm/word-count.c
// writes them). Records are addressed in 8-byte units from the arena's start.
const LENGTH = 2; // i32 offset of the key length
const KEY = 16; // byte offset of the key

/** The kernel's exports (wasm/word-count.c). */
interface Kernel {
  memory: WebAssembly.Memory;
  init(capacity: number): void;
  reserveInput(length: number): number;
  addWords(length: number): number;
  addRecords(length: number): void;
  addEncoded(blobLength: number, size: number, countsAt: number): number;
  lineCount(): number;
  arenaAt(): number;
  arenaUsed(): number;
  entries(): number;
}

let compiled: WebAssembly.Module | null = null;

/**
 * The word-count hot path: splits UTF-8 bytes on ASCII whitespace and counts
 * each word in an open-addressing hash table keyed by the word's bytes. No
 * string is made per word; a key is decoded once, when the table is read.
 * Splitting bytes equals splitting the decoded text, because UTF-8 never uses
 * bytes below 0x80 inside a multi-byte character.
 *
 * The table itself (index and records) lives in the memory of its own
 * WebAssembly instance, which does every insert (wasm/word-count.c); this class
 * copies input in and reads the records in place. A table lives as long as its
 * window receives words: `settle()` zeroes the counts after a commit but keeps
 * the keys, so the next commit writes only the keys that moved and no key is
 * inserted again.
 */
export class WordCountTable implements WindowTable {
  private readonly kernel: Kernel;
  /** Views of the kernel's memory, made again when it grows (`sync`). */
  private memory!: ArrayBuffer;
  private bytes!: Buffer;
  private f64!: Float64Array;
  private i32!: Int32Array;
  /** Where the arena starts, in bytes; it moves when the kernel's regions grow. */
  private arenaAt = 0;
  /** Bytes of the arena in use; always a multiple of 8. */
  private used = 0;
  private entries = 0;
  /** Counts settled so far, in first-seen order; made at the first settle. */
  private totals: Float64Array | null = null;

  constructor(capacity = 4096) {
    compiled ??= new WebAssembly.Module(Buffer.from(WORD_COUNT_WASM, 'base64'));
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(compiled);
    } catch (err) {
      // V8 reserves ~10 GB of address space per instance's memory, so about 12,000 tables can live at
      // once; a plain word count holds a window's table until the window is finalized.
      throw new RuntimeFailure(
        `cannot hold one more window in memory (${(err as Error).message}): too many windows are open at once; use a longer --window`,
        { cause: err },
      );
    }
    this.kernel = instance.exports as unknown as Kernel;
    this.kernel.init(capacity);
    this.sync();
  }

  get size(): number {
    return this.entries;
  }

  /** Every key and its count since the last settle, in first-seen order. */
  rows(): ResultRow[] {
    const rows = new Array<ResultRow>(this.entries);
    let e = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      const from = this.keyAt(unit);
      rows[e++] = [this.bytes.toString('utf8', from, from + this.keyLength(unit)), this.count(unit)];
    }
    return rows;
  }

  /**
   * The rows as UTF-8 JSON text, `[["key",count],...]`, written from the key
   * bytes: a window of a million keys is stored without a string per key.
   */
  rowsJson(): Buffer {
    const bytes = this.bytes;
    let length = 2 + Math.max(0, this.entries - 1);
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      const from = this.keyAt(unit);
      const to = from + this.keyLength(unit);
      length += 5 + writeCount(null, 0, this.count(unit));
      for (let b = from; b < to; b++) length += escapedLength(bytes[b]!);
    }
    const out = Buffer.allocUnsafe(length);
    let at = 0;
    out[at++] = 0x5b; // [
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      if (at > 1) out[at++] = 0x2c; // ,
      out[at++] = 0x5b;
      out[at++] = 0x22; // "
      const from = this.keyAt(unit);
      const to = from + this.keyLength(unit);
      for (let b = from; b < to; b++) {
        const c = bytes[b]!;
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
      at += writeCount(out, at, this.count(unit));
      out[at++] = 0x5d; // ]
    }
    out[at++] = 0x5d;
    return out;
  }

  /** Counts every word in bytes[start, end) and adds words and lines seen to `tally`. */
  addWords(bytes: Uint8Array, start: number, end: number, tally: WordTally): void {
    this.guarded(() => {
      this.copyIn(bytes.subarray(start, end));
      tally.words += this.kernel.addWords(end - start);
      tally.lines += this.kernel.lineCount();
    });
    this.sync();
  }

  /**
   * Adds committed counts whose keys are still encoded (UTF-8, NUL-separated):
   * a finalization merges deltas without making a string per key per delta.
   */
  addEncodedCounts(keyBlob: Uint8Array, counts: Float64Array, size: number): void {
    const countsAt = (keyBlob.length + 7) & ~7;
    const read = this.guarded(() => {
      const at = this.kernel.reserveInput(countsAt + size * 8);
      this.view();
      this.bytes.set(keyBlob, at);
      this.f64.set(counts.subarray(0, size), (at + countsAt) / 8);
      return this.kernel.addEncoded(keyBlob.length, size, countsAt);
    });
    this.sync();
    if (read !== size) throw new Error(`delta keys end after ${read} of ${size} keys`);
  }

  /**
   * --threads: the records counted since the last settle as they lie in the arena (copied, no key
   * encoded), for another thread's table to add with `addRecords`. Only records that moved: a long
   * window's table keeps every key it saw, and most may not have moved since the last commit.
   */
  unsettledRecords(): ArrayBuffer {
    let movedBytes = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      if (this.count(unit) !== 0) movedBytes += this.recordUnits(unit) * 8;
    }
    if (movedBytes === this.used) return this.memory.slice(this.arenaAt, this.arenaAt + this.used);
    // Runs of consecutive moved records, one copy each.
    const out = new Uint8Array(movedBytes);
    let at = 0;
    let runFrom = -1;
    for (let unit = 0; ; unit += this.recordUnits(unit)) {
      const end = unit * 8 >= this.used;
      const moved = !end && this.count(unit) !== 0;
      if (moved && runFrom < 0) runFrom = unit * 8;
      if (!moved && runFrom >= 0) {
        out.set(this.bytes.subarray(this.arenaAt + runFrom, this.arenaAt + unit * 8), at);
        at += unit * 8 - runFrom;
        runFrom = -1;
      }
      if (end) return out.buffer;
    }
  }

  /** Adds another table's records (`unsettledRecords`): their keys and hashes are used as they are. */
  addRecords(records: ArrayBuffer): void {
    this.guarded(() => {
      this.copyIn(new Uint8Array(records));
      this.kernel.addRecords(records.byteLength);
    });
    this.sync();
  }

  addDelta(delta: DeltaColumns): void {
    const keyBlob = delta.keyBlob ?? Buffer.from(delta.keys.slice(0, delta.size).join('\0'), 'utf8');
    this.addEncodedCounts(keyBlob, delta.counts, delta.size);
  }

  /** The keys counted since the last `settle()` and their counts, keys encoded as a delta row stores them. */
  unsettled(): DeltaColumns {
    let size = 0;
    let keyBytes = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      if (this.count(unit) !== 0) {
        size++;
        keyBytes += this.keyLength(unit);
      }
    }
    const keyBlob = Buffer.allocUnsafe(size === 0 ? 0 : keyBytes + size - 1);
    const counts = new Float64Array(size);
    let k = 0;
    let at = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) {
      const n = this.count(unit);
      if (n === 0) continue;
      if (k > 0) keyBlob[at++] = 0;
      // Byte by byte: keys are short, and a Buffer.copy call per key costs more than the bytes.
      const bytes = this.bytes;
      for (let b = this.keyAt(unit), to = b + this.keyLength(unit); b < to; b++) keyBlob[at++] = bytes[b]!;
      counts[k++] = n;
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
    const f64 = this.f64;
    const base = this.arenaAt / 8;
    const totals = this.totals;
    let e = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit), e++) {
      const n = f64[base + unit]!;
      if (n !== 0) {
        totals[e]! += n;
        f64[base + unit] = 0;
      }
    }
    return true;
  }

  /** Whether every count has been settled (nothing counted since the last settle). */
  isSettled(): boolean {
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit)) if (this.count(unit) !== 0) return false;
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
    const base = this.arenaAt / 8;
    let e = 0;
    for (let unit = 0; unit * 8 < this.used; unit += this.recordUnits(unit), e++) this.f64[base + unit] = this.totals?.[e] ?? 0;
  }

  /** Runs kernel calls; a trap (above all, memory that cannot grow past 4 GiB) stops the run with one line. */
  private guarded<T>(calls: () => T): T {
    try {
      return calls();
    } catch (err) {
      throw new RuntimeFailure(
        `a window's word table failed (${(err as Error).message}): one holds at most 4 GiB of words and index, so a window with more distinct words needs a shorter --window`,
        { cause: err },
      );
    }
  }

  private copyIn(input: Uint8Array): void {
    const at = this.kernel.reserveInput(input.length);
    this.view();
    this.bytes.set(input, at);
  }

  /** After a call that may have grown the kernel's memory or moved its arena. */
  private sync(): void {
    this.view();
    this.arenaAt = this.kernel.arenaAt();
    this.used = this.kernel.arenaUsed();
    this.entries = this.kernel.entries();
  }

  private view(): void {
    const memory = this.kernel.memory.buffer;
    if (memory === this.memory) return;
    this.memory = memory;
    this.bytes = Buffer.from(memory);
    this.f64 = new Float64Array(memory);
    this.i32 = new Int32Array(memory);
  }

  private count(unit: number): number {
    return this.f64[this.arenaAt / 8 + unit]!;
  }

  private keyLength(unit: number): number {
    return this.i32[this.arenaAt / 4 + unit * 2 + LENGTH]!;
  }

  private keyAt(unit: number): number {
    return this.arenaAt + unit * 8 + KEY;
  }

  private recordUnits(unit: number): number {
    return (KEY + this.keyLength(unit) + 7) >>> 3;
  }
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
