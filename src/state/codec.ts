import type { DeltaColumns, ResultRow, WindowResult } from '../model.js';

/** The columns of a `deltas` row that hold a window's partials, in the order encodeDelta and decodeDelta use. */
export const DELTA_COLUMNS = 'key_count, keys, counts, sums, sum_lows, mins, maxs, sketches';
/** DELTA_COLUMNS of a schema before sketches (SQLite schema 1 and 2): for reading older snapshot images. */
export const DELTA_COLUMNS_BEFORE_SKETCHES = 'key_count, keys, counts, sums, sum_lows, mins, maxs, NULL AS sketches';

/** A `deltas` row's partials as stored (the DELTA_COLUMNS). */
export interface DeltaRow {
  key_count: number;
  keys: Buffer;
  counts: Buffer;
  sums: Buffer | null;
  sum_lows: Buffer | null;
  mins: Buffer | null;
  maxs: Buffer | null;
  /** Sketch reductions: every key's sketch (reducers/sketch-table.ts); else null. */
  sketches: Buffer | null;
}

/** Packs a window's column-wise partials into the values of one `deltas` row, in DELTA_COLUMNS order. */
export function encodeDelta(d: DeltaColumns): [
  keyCount: number,
  keys: Buffer,
  counts: Buffer,
  sums: Buffer | null,
  sumLows: Buffer | null,
  mins: Buffer | null,
  maxs: Buffer | null,
  sketches: Buffer | null,
] {
  const n = d.size;
  return [
    n,
    d.keyBlob !== undefined ? Buffer.from(d.keyBlob.buffer, d.keyBlob.byteOffset, d.keyBlob.byteLength) : joinKeys(d.keys, n),
    floats(d.counts, n),
    d.sums ? floats(d.sums, n) : null,
    d.sumLows ? floats(d.sumLows, n) : null,
    d.mins ? floats(d.mins, n) : null,
    d.maxs ? floats(d.maxs, n) : null,
    d.sketches == null ? null : bytesOf(d.sketches),
  ];
}

function bytesOf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function joinKeys(keys: readonly string[], n: number): Buffer {
  return Buffer.from(keys.length === n ? keys.join('\0') : keys.slice(0, n).join('\0'), 'utf8');
}

function floats(column: Float64Array, n: number): Buffer {
  return Buffer.from(column.buffer, column.byteOffset, n * 8);
}

export function decodeDelta(row: DeltaRow): DeltaColumns {
  const n = row.key_count;
  let keys: string[] | null = null;
  return {
    size: n,
    keyBlob: row.keys,
    // Decoded on first use only: a count finalization merges the encoded keys directly.
    get keys(): string[] {
      if (keys === null) {
        keys = n === 0 ? [] : row.keys.toString('utf8').split('\0');
        if (keys.length !== n) throw new Error(`delta row holds ${keys.length} keys, expected ${n}`);
      }
      return keys;
    },
    counts: column(row.counts, n),
    sums: row.sums ? column(row.sums, n) : null,
    sumLows: row.sum_lows ? column(row.sum_lows, n) : null,
    mins: row.mins ? column(row.mins, n) : null,
    maxs: row.maxs ? column(row.maxs, n) : null,
    sketches: row.sketches,
  };
}

function column(blob: Buffer, n: number): Float64Array {
  if (blob.length !== n * 8) throw new Error(`delta column holds ${blob.length} bytes, expected ${n * 8}`);
  // Copy into an aligned buffer: SQLite blobs carry no alignment guarantee.
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

/**
 * JSON [[key, value], ...]; a bigint value is stored as a decimal string so no
 * precision is lost; a quantile row's value is the array of its quantiles.
 */
export function encodeRows(rows: readonly ResultRow[]): string {
  // One native call and no string per row: the common case, and the only one at a million keys.
  if (!rows.some((row) => typeof row[1] === 'bigint')) return JSON.stringify(rows);
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [key, value] = rows[i]!;
    parts[i] = `[${JSON.stringify(key)},${typeof value === 'bigint' ? `"${value}"` : JSON.stringify(value)}]`;
  }
  return `[${parts.join(',')}]`;
}

export function decodeRows(text: string): ResultRow[] {
  const rows = JSON.parse(text) as Array<[string, number | string | number[]]>;
  return rows.map(([key, value]) => [key, typeof value === 'string' ? BigInt(value) : value]);
}

/** A `results` row as both backends store it (SQLite keeps `final` as 0/1, PostgreSQL as a boolean). */
export interface PublicationRow {
  seq: number;
  job: string;
  window_start: number;
  window_end: number;
  revision: number;
  final: number | boolean;
  rows: string;
}

export const PUBLICATION_COLUMNS = 'seq, job, window_start, window_end, revision, final, rows';

export function publicationOf(r: PublicationRow): WindowResult {
  return {
    job: r.job,
    start: r.window_start,
    end: r.window_end,
    state: r.final === true || r.final === 1 ? 'final' : 'provisional',
    seq: r.seq,
    revision: r.revision,
    rows: decodeRows(r.rows),
  };
}
