import { orderRows } from '../../sinks/order.js';
import { MAX_PUBLICATIONS, type TopJob, type TopWindow } from '../../sinks/top-screen.js';
import { summarizerFor } from '../../reducers/summarize.js';
import type { Liveness, StateStore, StatusReport } from '../../state/port.js';
import { reducerOfDefinition } from '../commands/jobs.js';
import { RateHistory } from './rates.js';

/** One read of the database for `top`: the job names, and what the screen shows of the selected job. */
export interface TopRead {
  readonly jobs: readonly string[];
  readonly job: TopJob | null;
}

/**
 * Reads what `top` shows through the state port only, with the same reads
 * `status`, `query` and `watch` use (status, readOpen, recentPublications),
 * so it works alike on every backend and never writes. Keeps each job's
 * committed record counter across reads for the rate and its history.
 */
export class TopReader {
  private readonly rates = new Map<string, RateHistory>();

  constructor(
    private readonly store: StateStore,
    private readonly liveness: Liveness,
  ) {}

  /** Reads the database at `now`; `job` is the one to show in full (the first when null or gone). */
  async read(job: string | null, now: number): Promise<TopRead> {
    const status = await this.store.status(this.liveness, now);
    const jobs = status.jobs.map((j) => j.job);
    for (const j of status.jobs) {
      let history = this.rates.get(j.job);
      if (history === undefined) this.rates.set(j.job, (history = new RateHistory()));
      history.add(now, j.records);
    }
    const name = job !== null && jobs.includes(job) ? job : (jobs[0] ?? null);
    if (name === null) return { jobs, job: null };
    return { jobs, job: await this.readJob(status, name, now) };
  }

  private async readJob(status: StatusReport, name: string, now: number): Promise<TopJob> {
    const counters = status.jobs.find((j) => j.job === name)!;
    const windows: TopWindow[] = status.openWindows
      .filter((w) => w.job === name)
      .map(({ start, end, state, revision, commits, keyRows }) => ({ start, end, state, revision, commits, keyRows }));
    // The keys of the window open now; else of the newest one not final.
    const keysOf = windows.find((w) => w.start <= now && now < w.end) ?? windows.at(-1) ?? null;
    let keys: TopJob['keys'] = [];
    if (keysOf !== null) {
      const summarize = summarizerFor(reducerOfDefinition(name, counters.definition));
      const open = await this.store.readOpen(name, () => summarize);
      keys = orderRows(open.find((w) => w.start === keysOf.start)?.rows ?? []);
    }
    const rates = this.rates.get(name)!;
    return {
      name,
      definition: counters.definition,
      records: counters.records,
      rejected: counters.rejected,
      late: counters.late,
      duplicates: counters.duplicates,
      rate: rates.now(),
      history: rates.history(),
      workers: status.workers
        .filter((w) => w.job === name)
        // Live workers first, then by when they started.
        .sort((a, b) => rank(a.health) - rank(b.health) || a.startedAt - b.startedAt)
        .map((w) => ({
          id: w.id,
          host: w.host,
          pid: w.pid,
          state: w.health === 'alive' && w.idle ? 'idle' : w.health,
          heartbeatAt: w.heartbeatAt,
          watermark: w.watermark,
        })),
      windows,
      keysOf,
      keys,
      publications: await this.store.recentPublications(name, MAX_PUBLICATIONS),
    };
  }
}

function rank(health: 'alive' | 'finished' | 'dead'): number {
  return health === 'alive' ? 0 : health === 'dead' ? 1 : 2;
}
