import { UsageError } from '../../errors.js';
import { describeDb } from '../../state/open.js';
import type { StateStore } from '../../state/port.js';

/** Refuses a --job the database does not hold, naming the jobs it does (query and watch alike). */
export async function requireKnownJob(store: StateStore, job: string | null, db: string): Promise<void> {
  if (job === null) return;
  const jobs = await store.jobNames();
  if (!jobs.includes(job)) throw new UsageError(`job '${job}' is not in ${describeDb(db)} (jobs: ${jobs.join(', ') || 'none'})`);
}
