import type { WindowResult } from '../../model.js';
import { summarizerFor } from '../../reducers/summarize.js';
import type { JobDefinition } from '../../state/port.js';
import { openStore } from '../../state/open.js';
import { refuseOutputsOverInputs } from '../guards.js';
import { ResultOutput } from '../output.js';
import { reducerOfDefinition, requireKnownJob, valueColumnsOfDefinition } from './jobs.js';
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
    const definitions = new Map<string, JobDefinition | undefined>();
    for (const job of await store.jobNames()) definitions.set(job, await store.jobDefinition(job));
    const summarizer = (job: string) => summarizerFor(reducerOfDefinition(job, definitions.get(job)));
    const windows = [...(await store.readFinalWindows(config.job)), ...(await store.readOpen(config.job, summarizer))]
      .filter((w) => config.at === null || (w.start <= config.at && config.at < w.end))
      .map((w): WindowResult => (config.key === null ? w : { ...w, rows: w.rows.filter(([k]) => k === config.key) }))
      .filter((w) => w.rows.length > 0)
      .sort((a, b) => a.start - b.start || (a.job < b.job ? -1 : a.job > b.job ? 1 : 0));
    const output = new ResultOutput(config.output, () => undefined, ['state'], (job) => valueColumnsOfDefinition(definitions.get(job)));
    for (const w of windows) output.publish(w);
    await output.finish();
    return 0;
  } finally {
    await store.close();
  }
}

