import type { OutputConfig } from '../../config.js';
import { StateStore } from '../../state/store.js';
import { refuseOutputsOverInputs } from '../guards.js';
import { ResultOutput } from '../output.js';
import { requireKnownJob } from './jobs.js';

export interface WatchConfig {
  readonly db: string;
  readonly job: string | null;
  /** First publication sequence number to print. */
  readonly fromSeq: number;
  readonly follow: boolean;
  readonly pollMs: number;
  readonly output: OutputConfig;
}

const EXIT_BY_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Prints finalized windows in publication order, each exactly once. With
 * --follow it polls the publication log (an indexed range read, so an idle
 * poll costs next to nothing) until SIGINT/SIGTERM or a closed pipe.
 */
export async function runWatchCommand(config: WatchConfig): Promise<number> {
  refuseOutputsOverInputs([{ option: '-o', path: config.output.path }], [], config.db);
  const store = StateStore.open(config.db, { readOnly: true });
  try {
    requireKnownJob(store, config.job, config.db);
  } catch (err) {
    store.close();
    throw err;
  }
  let stopped: 'SIGINT' | 'SIGTERM' | 'EPIPE' | null = null;
  let wake: (() => void) | null = null;
  const stop = (why: 'SIGINT' | 'SIGTERM' | 'EPIPE') => {
    stopped ??= why;
    wake?.();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const output = new ResultOutput(config.output, () => stop('EPIPE'), ['seq']);
  try {
    let next = config.fromSeq;
    for (;;) {
      store.refresh();
      for (const window of store.readFinal(config.job, next)) {
        output.publish(window);
        next = window.seq! + 1;
      }
      if (!config.follow || stopped !== null) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      if (stopped !== null) break;
    }
    await output.finish();
    return stopped === 'SIGINT' || stopped === 'SIGTERM' ? EXIT_BY_SIGNAL[stopped] : 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    store.close();
  }
}
