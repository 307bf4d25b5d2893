import { UsageError } from '../../errors.js';
import type { WindowResult } from '../../model.js';
import { reducerFor, REDUCTION_NAMES, type ReductionName } from '../../reducers/reducers.js';
import { summarizerFor } from '../../reducers/summarize.js';
import { openStore } from '../../state/open.js';
import { refuseOutputsOverInputs } from '../guards.js';
import { ResultOutput } from '../output.js';
import { requireKnownJob } from './jobs.js';
import type { OutputConfig } from '../../config.js';

export interface QueryConfig {
  readonly db: string;
  readonly job: string | null;
  readonly key: string | null;
  /** A time inside the windows wanted. */
  readonly at: number | null;
  readonly output: OutputConfig;
}

/** Prints retained finalized windows and the current rows of open ones, in window start order. */
export async function runQueryCommand(config: QueryConfig): Promise<number> {
  refuseOutputsOverInputs([{ option: '-o', path: config.output.path }], [], config.db);
  const store = await openStore(config.db, { readOnly: true });
  try {
    await requireKnownJob(store, config.job, config.db);
    const reductions = new Map<string, string | undefined>();
    for (const job of await store.jobNames()) reductions.set(job, (await store.jobDefinition(job))?.reduction);
    const summarizer = (job: string) => {
      const reduction = reductions.get(job) ?? 'count';
      if (!(REDUCTION_NAMES as readonly string[]).includes(reduction)) {
        throw new UsageError(`job '${job}' uses an unknown reduction '${reduction}'; upgrade statesync`);
      }
      return summarizerFor(reducerFor(reduction as ReductionName));
    };
    const windows = [...(await store.readFinalWindows(config.job)), ...(await store.readOpen(config.job, summarizer))]
      .filter((w) => config.at === null || (w.start <= config.at && config.at < w.end))
      .map((w): WindowResult => (config.key === null ? w : { ...w, rows: w.rows.filter(([k]) => k === config.key) }))
      .filter((w) => w.rows.length > 0)
      .sort((a, b) => a.start - b.start || (a.job < b.job ? -1 : a.job > b.job ? 1 : 0));
    const output = new ResultOutput(config.output, () => undefined, ['state']);
    for (const w of windows) output.publish(w);
    await output.finish();
    return 0;
  } finally {
    await store.close();
  }
}

