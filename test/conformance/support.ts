/**
 * What the conformance suite needs from a backend, and the helpers its tests
 * share. A backend passes by being listed in store.test.ts.
 */
import { FencedError } from '../../src/errors.js';
import type { DeltaColumns, ResultRow, Summarizer, WindowResult } from '../../src/model.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import { reducerFor } from '../../src/reducers/reducers.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import { orderRows } from '../../src/sinks/order.js';
import type { CommitBatch, JobDefinition, Liveness, SourceProgress, StateStore } from '../../src/state/port.js';

/** Fresh, empty state for one test. */
export interface FreshState {
  readonly store: StateStore;
  /**
   * Another store on the same state, as a second process would open it;
   * null when only one store can see the state (SQLite in memory).
   */
  readonly another: (() => Promise<StateStore>) | null;
  /** A path where an image file may be written (exportImage), distinct per call. */
  readonly scratchFile: (name: string) => string;
}

export interface Backend {
  readonly name: string;
  /** Creates fresh state; everything it opened is closed and removed by `dispose`. */
  fresh(): Promise<FreshState>;
  dispose(): Promise<void>;
}

export const JOB = 'default';
export const DEFINITION: JobDefinition = { reduction: 'count', window: '5s', key: 'word' };
export const RETAIN_MS = 3_600_000;
export const W0 = 1_764_151_200_000; // a 5 s window start
export const W1 = W0 + 5_000;
export const W2 = W0 + 10_000;
export const HOST = 'test-host';
export const LIVENESS: Liveness = { host: HOST, timeoutMs: 60_000, pidAlive: () => true };

export const summarize = summarizerFor(reducerFor('count'));
export const summarizeAny = (): Summarizer => summarize;

/**
 * The store gives a window's rows in no particular order (the sink orders them
 * for display), so row comparisons put both sides in one canonical order.
 */
export const ordered = (rows: readonly ResultRow[]): ResultRow[] => orderRows(rows);
export const withOrderedRows = (w: WindowResult): WindowResult => ({ ...w, rows: ordered(w.rows) });

export function counts(entries: Record<string, number>): DeltaColumns {
  const table = new PartialTable(false);
  for (const [key, count] of Object.entries(entries)) table.mergePartial(key, count, 0, 0, Infinity, -Infinity);
  return table;
}

export function batch(
  windows: ReadonlyArray<[start: number, entries: Record<string, number>]>,
  sources: readonly SourceProgress[] = [],
  extra: Partial<CommitBatch> = {},
): CommitBatch {
  let records = 0;
  for (const [, entries] of windows) for (const n of Object.values(entries)) records += n;
  return {
    job: JOB,
    now: W0,
    windows: windows.map(([start, entries]) => ({ start, end: start + 5_000, delta: counts(entries) })),
    sources,
    records,
    rejected: 0,
    late: 0,
    ...extra,
  };
}

export function source(
  fromOffset: number,
  toOffset: number,
  lines: number,
  name = 'file:/data/in.log',
  maxEventTime: number | null = null,
): SourceProgress {
  return { source: name, kind: 'file', fromOffset, toOffset, lines, maxEventTime };
}

/** Everything a reader can see but workers, for "nothing changed" comparisons. */
export async function readable(store: StateStore): Promise<unknown> {
  const status = await store.status(LIVENESS, W0);
  return {
    open: await store.readOpen(null, summarizeAny),
    final: await store.readPublished(null),
    jobs: status.jobs,
    sources: status.sources.map((s) => ({ ...s, updatedAt: 0 })),
    openWindows: status.openWindows,
    publishedSeq: status.publishedSeq,
  };
}

/**
 * Finalizes the job's open windows that end at or before `time`: a pacing
 * worker whose committed watermark is `time` holds back every later window.
 */
export async function finalizeUpTo(
  store: StateStore,
  job: string,
  time: number,
  summarizer: Summarizer,
  now: number,
): Promise<WindowResult[]> {
  const pacer = `pacer:${job}`;
  try {
    await store.heartbeat({ id: pacer, watermark: time, idle: false }, now);
  } catch (err) {
    if (!(err instanceof FencedError)) throw err;
    await store.registerWorker({ id: pacer, job, pid: process.pid, host: HOST, watermark: time }, now);
  }
  return [...(await store.finalizeReady({ job, self: pacer, liveness: LIVENESS, summarize: summarizer, now })).published];
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}
