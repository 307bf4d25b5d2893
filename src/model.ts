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
  /** Sketch reductions (quantile, distinct): every key's sketch, encoded (reducers/sketch-table.ts); else absent or null. */
  readonly sketches?: Uint8Array | null;
}

/**
 * A row's reduced value: a number; a bigint only for exact integer sums
 * beyond 2^53; one number per quantile (in ascending order of q) for quantile.
 */
export type RowValue = number | bigint | readonly number[];

/** One result row: key and reduced value. */
export type ResultRow = readonly [key: string, value: RowValue];

export type WindowState = 'open' | 'provisional' | 'final';

/** The rows of one window, in no particular order (sinks show them ordered). */
export interface WindowResult {
  readonly job: string;
  readonly start: number;
  readonly end: number;
  /**
   * 'open' while never published; 'provisional' once published before the
   * watermark passed its end (a later record amends it as the next revision);
   * 'final' once it never changes again.
   */
  readonly state: WindowState;
  /** Publication sequence number; null for a window as it stands now (query). */
  readonly seq: number | null;
  /** 1, 2, ... per window, one per publication; null for a window never published. */
  readonly revision: number | null;
  readonly rows: readonly ResultRow[];
}

/** A window's merged rows: decoded on first read, and encodable for the store without decoding when the merge can. */
export interface MergedRows {
  readonly size: number;
  rows(): readonly ResultRow[];
  /** The rows as the store's UTF-8 JSON text `[[key, value], ...]`, written straight from the merge's bytes. */
  readonly json?: () => Buffer;
}

/** Merges the partials of one window, read one at a time (supplied by the reduction in use). */
export type Summarizer = (parts: Iterable<DeltaColumns>) => MergedRows;

/** One input of a stream run, as --metrics shows it. */
export interface SourceMetrics {
  readonly id: string;
  readonly kind: string;
  /** Records counted from it by this run (words for a word count). */
  readonly records: number;
  /** Bytes read from it by this run (of text, for gzip input). */
  readonly bytes: number;
  /** Network inputs: clients connected now and connections refused so far; null for files and stdin. */
  readonly clients: number | null;
  readonly refused: number | null;
}

/**
 * What a stream run has done so far, read from its own counters when asked
 * (a scrape), so nothing on the path of a record pays for it.
 */
export interface RunMetrics {
  readonly job: string;
  readonly sources: readonly SourceMetrics[];
  /** Rejected records by reason, every reason present (0 when none). */
  readonly rejected: ReadonlyMap<string, number>;
  /** Records that fell into windows already finalized (read late, or found late at their commit). */
  readonly late: number;
  /** Records skipped at their commit as already applied (--dedupe). */
  readonly duplicates: number;
  /** Batches the store applied. */
  readonly commits: number;
  /** This worker's watermark, epoch ms; null while unknown (event time before any record). */
  readonly watermark: number | null;
  /** Windows this worker holds open in memory. */
  readonly openWindows: number;
  /** False once the run is stopping (end of input, a signal, a failure). */
  readonly running: boolean;
}
