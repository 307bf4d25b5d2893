import { availableParallelism } from 'node:os';

/**
 * Defaults that more than one part needs, or that the CLI shows in --help
 * and applies: each is written here once.
 */

/** How long finalized results stay queryable before compaction removes them (--retain). */
export const DEFAULT_RETAIN_MS = 3_600_000;

/** A worker without a heartbeat this long is dead to the others (--worker-timeout). */
export const DEFAULT_WORKER_TIMEOUT_MS = 10_000;

/** Tumbling window size (--window). */
export const DEFAULT_WINDOW_MS = 5_000;

/** How often in-memory partials are committed (--commit-interval). */
export const DEFAULT_COMMIT_INTERVAL_MS = 1_000;

/** How far behind the newest event time a record may arrive (--lateness). */
export const DEFAULT_LATENESS_MS = 0;

/** How long applied record ids are remembered (--dedupe-ttl). */
export const DEFAULT_DEDUPE_TTL_MS = 3_600_000;

/** A longer line is rejected, never buffered whole (--max-line-bytes): 1 MiB. */
export const DEFAULT_MAX_LINE_BYTES = 1 << 20;

/** Clients of --listen beyond this many are refused (--max-connections). */
export const DEFAULT_MAX_CONNECTIONS = 256;

/** watch --follow: how often a store without notifications looks for new publications. */
export const WATCH_POLL_MS = 200;

/** How long the row of a finished or dead worker stays for `status` before compaction removes it. */
export const ENDED_WORKER_ROWS_MS = 3_600_000;

/**
 * Counting threads without --threads (the reading thread among them): one per available core, at
 * most this many. Each worker holds its own tables of the open windows, and the reading thread
 * merges them all at every commit, so past a few threads memory and merging grow while reading
 * (one thread) stays the limit.
 */
export const MAX_DEFAULT_THREADS = 8;

export function defaultThreads(): number {
  return Math.min(availableParallelism(), MAX_DEFAULT_THREADS);
}

/** quantile: the quantiles computed when --q is not given. */
export const DEFAULT_QUANTILES = '0.5,0.9,0.99';
