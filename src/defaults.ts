/** Defaults that more than one part needs (the CLI's option defaults, the stores, the commands). */

/** How long finalized results stay queryable before compaction removes them (--retain). */
export const DEFAULT_RETAIN_MS = 3_600_000;

/** A worker without a heartbeat this long is dead to the others (--worker-timeout). */
export const DEFAULT_WORKER_TIMEOUT_MS = 10_000;
