import { UsageError } from '../../errors.js';
import { quantilesOfDefinition, reducerFor, REDUCTION_NAMES, valueColumns, type Reducer, type ReductionName } from '../../reducers/reducers.js';
import { describeDb } from '../../state/open.js';
import type { JobDefinition, StateStore } from '../../state/port.js';

/** Refuses a --job the database does not hold, naming the jobs it does (query and watch alike). */
export async function requireKnownJob(store: StateStore, job: string | null, db: string): Promise<void> {
  if (job === null) return;
  const jobs = await store.jobNames();
  if (!jobs.includes(job)) throw new UsageError(`job '${job}' is not in ${describeDb(db)} (jobs: ${jobs.join(', ') || 'none'})`);
}

/** The reduction a job was pinned with (query merges open windows with it). */
export function reducerOfDefinition(job: string, definition: JobDefinition | undefined): Reducer {
  const reduction = definition?.reduction ?? 'count';
  if (!(REDUCTION_NAMES as readonly string[]).includes(reduction)) {
    throw new UsageError(`job '${job}' uses an unknown reduction '${reduction}'; upgrade statesync`);
  }
  return reducerFor(reduction as ReductionName, quantilesOfDefinition(definition?.q));
}

/** A job's value columns, by its definition: p50, p90, ... for quantile, else `value`. */
export function valueColumnsOfDefinition(definition: JobDefinition | undefined): readonly string[] {
  return valueColumns(definition?.reduction === 'quantile' ? quantilesOfDefinition(definition.q) : null);
}
