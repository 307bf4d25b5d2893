import type { DeltaColumns } from '../model.js';

/** Packs a window's column-wise partials into the blobs of one `deltas` row. */
export function encodeDelta(d: DeltaColumns): {
  keys: Buffer;
  counts: Buffer;
  sums: Buffer | null;
  sumLows: Buffer | null;
  mins: Buffer | null;
  maxs: Buffer | null;
} {
  const n = d.size;
  return {
    keys: d.keyBlob !== undefined ? Buffer.from(d.keyBlob.buffer, d.keyBlob.byteOffset, d.keyBlob.byteLength) : joinKeys(d.keys, n),
    counts: floats(d.counts, n),
    sums: d.sums ? floats(d.sums, n) : null,
    sumLows: d.sumLows ? floats(d.sumLows, n) : null,
    mins: d.mins ? floats(d.mins, n) : null,
    maxs: d.maxs ? floats(d.maxs, n) : null,
  };
}

function joinKeys(keys: readonly string[], n: number): Buffer {
  return Buffer.from(keys.length === n ? keys.join('\0') : keys.slice(0, n).join('\0'), 'utf8');
}

function floats(column: Float64Array, n: number): Buffer {
  return Buffer.from(column.buffer, column.byteOffset, n * 8);
}

export function decodeDelta(row: {
  key_count: number;
  keys: Buffer;
  counts: Buffer;
  sums: Buffer | null;
  sum_lows: Buffer | null;
  mins: Buffer | null;
  maxs: Buffer | null;
}): DeltaColumns {
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
  };
}

function column(blob: Buffer, n: number): Float64Array {
  if (blob.length !== n * 8) throw new Error(`delta column holds ${blob.length} bytes, expected ${n * 8}`);
  // Copy into an aligned buffer: SQLite blobs carry no alignment guarantee.
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(blob);
  return out;
}
