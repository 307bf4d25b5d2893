/** Plain data shapes shared between the stages. No logic lives here. */

/** Column-wise partial aggregates of one window: what a commit writes and a finalization merges. */
export interface DeltaColumns {
  readonly size: number;
  readonly keys: readonly string[];
  readonly counts: Float64Array;
  readonly sums: Float64Array | null;
  /** Rounding errors of `sums` (double-double); null when sums is null. */
  readonly sumLows: Float64Array | null;
  readonly mins: Float64Array | null;
  readonly maxs: Float64Array | null;
  /** The keys still encoded (UTF-8, NUL-separated), when they come from the database: merging can skip decoding. */
  readonly keyBlob?: Uint8Array;
}

/** One result row: key and reduced value (a bigint only for exact integer sums beyond 2^53). */
export type ResultRow = readonly [key: string, value: number | bigint];

/** The rows of one window, in no particular order (sinks show them ordered). */
export interface WindowResult {
  readonly job: string;
  readonly start: number;
  readonly end: number;
  /** 'final' once published; 'open' for a window still accumulating (query only). */
  readonly state: 'open' | 'final';
  /** Publication sequence number of a finalized window; null while open. */
  readonly seq: number | null;
  readonly rows: readonly ResultRow[];
}

/** Merges the partials of one window, read one at a time, into rows (supplied by the reduction in use). */
export type Summarizer = (parts: Iterable<DeltaColumns>) => ResultRow[];
