import type { OutputConfig } from '../../config.js';
import { PUBLICATION_MARKS } from '../../sinks/sink.js';
import { openStore } from '../../state/open.js';
import { refuseOutputsOverInputs } from '../guards.js';
import { ResultOutput } from '../output.js';
import { exitCodeAfter, trapStopSignals } from '../signals.js';
import { requireKnownJob, valueColumnsOfDefinition } from './jobs.js';

export interface WatchConfig {
  readonly db: string;
  readonly job: string | null;
  /** First publication sequence number to print. */
  readonly fromSeq: number;
  readonly follow: boolean;
  /** --final: only final publications (a window's last revision), not provisional ones. */
  readonly finalOnly: boolean;
  readonly pollMs: number;
  readonly output: OutputConfig;
}

/**
 * Prints publications (every revision of every window, or with --final the
 * final ones) in publication order, each exactly once. With
 * --follow it waits for the next publication (the store's
 * waitForPublication) until SIGINT/SIGTERM or a closed pipe.
 */
export async function runWatchCommand(config: WatchConfig): Promise<number> {
  refuseOutputsOverInputs([{ option: '-o', path: config.output.path }], [], config.db);
  const store = await openStore(config.db, { readOnly: true });
  try {
    await requireKnownJob(store, config.job, config.db);
  } catch (err) {
    await store.close();
    throw err;
  }
  let stopped: 'SIGINT' | 'SIGTERM' | 'EPIPE' | null = null;
  const stopping = new AbortController();
  const stop = (why: 'SIGINT' | 'SIGTERM' | 'EPIPE') => {
    stopped ??= why;
    stopping.abort();
  };
  const signals = trapStopSignals(stop);
  // Each job's value columns by its definition, read when its first publication comes (a job may start after watch).
  const columns = new Map<string, readonly string[]>();
  const output = new ResultOutput(config.output, () => stop('EPIPE'), ['seq', ...PUBLICATION_MARKS], (job) => columns.get(job) ?? ['value']);
  try {
    let next = config.fromSeq;
    // The newest publication of any job seen so far: with --job, the next wait is for one after it.
    let seen = 0;
    for (;;) {
      for (const window of await store.readPublished(config.job, next)) {
        if (!columns.has(window.job)) columns.set(window.job, valueColumnsOfDefinition(await store.jobDefinition(window.job)));
        if (!config.finalOnly || window.state === 'final') output.publish(window);
        next = window.seq! + 1;
      }
      if (!config.follow || stopped !== null) break;
      seen = await store.waitForPublication(Math.max(next, seen + 1), { pollMs: config.pollMs, signal: stopping.signal });
      if (stopped !== null) break;
    }
    await output.finish();
    return exitCodeAfter(stopped);
  } finally {
    signals.release();
    await store.close();
  }
}
