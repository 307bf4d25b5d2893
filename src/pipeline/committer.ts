import { randomId } from './random-id.js';
import { FencedError, RuntimeFailure, StaleBatchError } from '../errors.js';
import type { WindowTable } from '../reducers/window-table.js';
import type { CommitOutcome, JobDefinition, StateStore, WorkerBeat } from '../state/port.js';
import type { Clock } from '../windows/tumbling.js';
import type { RunCounters } from './counters.js';
import type { DedupeBuffer } from './dedupe-buffer.js';
import type { OpenWindows } from './open-windows.js';
import type { SourceCursors } from './source-cursors.js';
import type { WindowClock } from './window-clock.js';

/** Who this worker is, to the store. */
export interface WorkerIdentity {
  readonly job: string;
  readonly definition: JobDefinition;
  readonly retainMs: number;
  readonly pid: number;
  readonly host: string;
}

/** What a batch is made of. */
export interface BatchParts {
  readonly windows: OpenWindows<WindowTable>;
  readonly clock: WindowClock;
  readonly cursors: SourceCursors;
  readonly counters: RunCounters;
  readonly dedupe: DedupeBuffer | null;
  /**
   * --threads: brings everything read up to now into the window tables; a commit waits for it
   * first. What is read while it waits belongs to the next batch; the function it resolves to is
   * called once the commit is over.
   */
  readonly gather?: (() => Promise<() => void>) | undefined;
}

/**
 * This process as a worker of the job, and its batches. A commit is one
 * store transaction: every window's deltas, how far each source got, the
 * batch's counters, this worker's heartbeat and watermark. Only once it
 * succeeded do the parts move on (cursors, counters, tables). A worker the
 * others declared dead (paused too long) is fenced at its next commit; it
 * says so and rejoins under a new id.
 */
export class Committer {
  private id = randomId();
  private lastCommit: number;
  /** Batches the store applied in this run (heartbeats without data are not commits). */
  commits = 0;

  constructor(
    private readonly worker: WorkerIdentity,
    private readonly store: StateStore,
    private readonly wall: Clock,
    private readonly note: (line: string) => void,
    private readonly commitIntervalMs: number,
    private readonly parts: BatchParts,
    /** Told how long each applied commit's store transaction took, in seconds (--metrics). */
    private readonly timed: (seconds: number) => void = () => undefined,
  ) {
    this.lastCommit = wall.now();
  }

  /** This worker's id; a new one after being fenced. */
  get workerId(): string {
    return this.id;
  }

  async register(): Promise<void> {
    const now = this.wall.now();
    const { job, pid, host } = this.worker;
    await this.store.registerWorker({ id: this.id, job, pid, host, watermark: this.parts.clock.committedWatermark(now) }, now);
  }

  commitDue(now: number): boolean {
    return now - this.lastCommit >= this.commitIntervalMs;
  }

  async commit(): Promise<void> {
    try {
      await this.commitOnce();
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      this.note(`${err.message}; rejoining as a new worker`);
      const { job, definition, retainMs } = this.worker;
      // The job may be gone too (a forced snapshot restore replaced the state).
      await this.store.ensureJob(job, definition, this.wall.now(), retainMs);
      this.id = randomId();
      this.parts.windows.forgetOwnRows();
      await this.register();
      await this.commitOnce();
    }
  }

  /** End of input or a clean stop: this worker holds nothing open any more. */
  async finish(): Promise<void> {
    await this.store.finishWorker(this.id, this.wall.now());
  }

  /** What this worker tells the others: all its data for windows ending by the watermark is committed. */
  private beat(now: number): WorkerBeat {
    const { clock } = this.parts;
    return { id: this.id, watermark: clock.committedWatermark(now), idle: clock.isIdle(now) };
  }

  private async commitOnce(): Promise<void> {
    // The batch ends here: its offsets must never pass a line not counted yet, nor its watermark
    // a window that lines read later (while the threads hand over their tables) belong to.
    const now = this.wall.now();
    const cut = this.parts.cursors.cut();
    const gathered = await this.parts.gather?.();
    try {
      await this.commitBatch(now, cut);
    } finally {
      gathered?.();
    }
  }

  private async commitBatch(now: number, cut: ReturnType<SourceCursors['cut']>): Promise<void> {
    this.lastCommit = now;
    const { windows, cursors, counters, dedupe } = this.parts;
    const covered = cursors.batch(cut);
    const worker = this.beat(now);
    const deltas = windows.deltas();
    if (deltas.length === 0 && covered.sources.length === 0 && counters.batchIsEmpty) {
      await this.store.heartbeat(worker, now);
      return;
    }
    const duplicates = dedupe?.duplicates ?? 0;
    let outcome: CommitOutcome;
    // hrtime, not performance.now(): the performance global loads perf_hooks (~1.5 ms of a short run).
    const began = process.hrtime.bigint();
    try {
      outcome = await this.store.commit({
        job: this.worker.job,
        now,
        windows: deltas,
        worker,
        ...(dedupe === null ? {} : { dedupe: dedupe.records(now) }),
        sources: covered.sources,
        // Duplicates within the batch never reach the store; it counts the ones it recognises.
        records: counters.records - duplicates,
        rejected: counters.rejected,
        late: counters.late,
        duplicates,
      });
    } catch (err) {
      if (err instanceof StaleBatchError) {
        throw new RuntimeFailure(
          `${err.message}; two runs are reading the same source at once — stop one, or give each its own --source`,
        );
      }
      throw err;
    }
    this.commits++;
    this.timed(Number(process.hrtime.bigint() - began) / 1e9);
    windows.committed(deltas, outcome.deltaIds, dedupe === null);
    counters.committed(outcome.duplicates, outcome.lateRecords);
    dedupe?.clear();
    covered.done();
  }
}
