import type { StreamConfig } from '../config.js';
import type { RejectReason } from '../records/framer.js';

/**
 * The messages between the reading thread and a counting thread. A port
 * delivers them in order, so a worker's `tables` answer to `collect` comes
 * after its `counted` answer to every chunk sent before it.
 */

/** What a counting thread is started with. */
export interface CountWorkerData {
  readonly config: StreamConfig;
  /**
   * One Int32 the thread adds each chunk's length to once it is counted (modulo 2^32): the
   * reading thread sees how far behind a thread is without waiting for its answers.
   */
  readonly progress: SharedArrayBuffer;
}

/** Main -> worker. */
export type ToCountWorker =
  /** Whole lines of one source, all of the window starting at `start`; `bytes` is transferred. */
  | { readonly kind: 'chunk'; readonly start: number; readonly bytes: ArrayBuffer; readonly length: number }
  /** Send what was counted since the last collect, per window, and forget it. */
  | { readonly kind: 'collect' };

/** Worker -> main. */
export type FromCountWorker =
  /** One chunk is counted: its records, lines and record-level rejections; its buffer comes back (transferred) for reuse. */
  | {
      readonly kind: 'counted';
      readonly bytes: ArrayBuffer;
      readonly records: number;
      readonly lines: number;
      /** Keys the chunk inserted into the thread's table (ThreadPayoff). */
      readonly inserted: number;
      readonly rejected: Array<[RejectReason, number]>;
    }
  | { readonly kind: 'tables'; readonly windows: EncodedWindow[] };

/**
 * One window's partials as a counting thread hands them over: a word count's
 * table records as they lie in its arena (WordCountTable.unsettledRecords);
 * other tables' as a delta row holds them, keys as the strings the record
 * reader made (kept exactly).
 */
export type EncodedWindow = EncodedRecords | EncodedDelta;

export interface EncodedRecords {
  readonly start: number;
  readonly records: ArrayBuffer;
}

export interface EncodedDelta {
  readonly start: number;
  readonly records?: undefined;
  readonly size: number;
  readonly keys: string[];
  readonly counts: Float64Array;
  readonly sums: Float64Array | null;
  readonly sumLows: Float64Array | null;
  readonly mins: Float64Array | null;
  readonly maxs: Float64Array | null;
}
