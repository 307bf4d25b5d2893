import type { Summarizer, WindowResult } from '../../model.js';
import type {
  CommitBatch,
  CommitOutcome,
  CompactionReport,
  FinalizeOutcome,
  FinalizeRequest,
  JobDefinition,
  Liveness,
  NewWorker,
  PublicationSummary,
  PublicationWait,
  SourceOffset,
  StateStore,
  StoreOptions,
  StatusReport,
  WindowDelta,
  WorkerBeat,
  WorkerInfo,
} from '../port.js';
import { collapseDeltas, commitBatch } from './commits.js';
import { compact } from './compaction.js';
import { PgConnection } from './connection.js';
import { finalizeReady } from './finalization.js';
import { exportImage, restoreImage } from './image.js';
import { ensureJob, jobDefinition, jobNames, sourceOffset } from './jobs.js';
import { PublicationListener } from './notifications.js';
import * as reads from './reads.js';
import * as workers from './workers.js';

/**
 * The PostgreSQL adapter of the state port (`--db postgres://…`): workers on
 * many machines share one server. Writers of a job serialize on the job's
 * row lock; source offsets advance by compare-and-set; publication numbers
 * come from one counter row; heartbeats use the server's clock; watch
 * --follow LISTENs. The modules beside this one hold one role each, as
 * SQLite's do.
 */
export class PostgresStore implements StateStore {
  private listener: PublicationListener | null = null;

  private constructor(private readonly conn: PgConnection) {}

  static async open(url: string, options: StoreOptions = {}): Promise<PostgresStore> {
    return new PostgresStore(await PgConnection.open(url, options));
  }

  async close(): Promise<void> {
    await this.listener?.close();
    await this.conn.close();
  }

  async ensureJob(job: string, definition: JobDefinition, now: number, retainMs: number): Promise<void> {
    await ensureJob(this.conn, job, definition, now, retainMs);
  }

  async jobDefinition(job: string): Promise<JobDefinition | undefined> {
    return jobDefinition(this.conn, job);
  }

  async jobNames(): Promise<string[]> {
    return jobNames(this.conn);
  }

  async sourceOffset(job: string, source: string): Promise<SourceOffset | undefined> {
    return sourceOffset(this.conn, job, source);
  }

  async registerWorker(worker: NewWorker): Promise<void> {
    await workers.registerWorker(this.conn, worker);
  }

  async heartbeat(beat: WorkerBeat): Promise<void> {
    await this.conn.transaction((client) => workers.beat(client, beat));
  }

  async finishWorker(id: string): Promise<void> {
    await workers.finishWorker(this.conn, id);
  }

  async workers(liveness: Liveness, now: number): Promise<WorkerInfo[]> {
    return workers.listWorkers(this.conn, liveness, now);
  }

  async commit(batch: CommitBatch): Promise<CommitOutcome> {
    return commitBatch(this.conn, batch);
  }

  async collapseDeltas(job: string, window: WindowDelta, workerId: string, ids: readonly number[], now: number): Promise<void> {
    await collapseDeltas(this.conn, job, window, workerId, ids, now);
  }

  async finalizeReady(request: FinalizeRequest): Promise<FinalizeOutcome> {
    return finalizeReady(this.conn, request);
  }

  async earliestOpenWindowEnd(job: string): Promise<number | null> {
    return reads.earliestOpenWindowEnd(this.conn, job);
  }

  async finalizedStartsEndingAfter(job: string, time: number): Promise<number[]> {
    return reads.finalizedStartsEndingAfter(this.conn, job, time);
  }

  async readOpen(job: string | null, summarize: (job: string) => Summarizer): Promise<WindowResult[]> {
    return reads.readOpen(this.conn, job, summarize);
  }

  async readPublished(job: string | null, fromSeq = 0): Promise<WindowResult[]> {
    return reads.readPublished(this.conn, job, fromSeq);
  }

  async readFinalWindows(job: string | null): Promise<WindowResult[]> {
    return reads.readFinalWindows(this.conn, job);
  }

  async recentPublications(job: string | null, limit: number): Promise<PublicationSummary[]> {
    return reads.recentPublications(this.conn, job, limit);
  }

  async waitForPublication(seq: number, wait: PublicationWait): Promise<number> {
    this.listener ??= new PublicationListener(this.conn);
    return this.listener.waitFor(seq, wait);
  }

  async status(liveness: Liveness, now: number): Promise<StatusReport> {
    return reads.status(this.conn, liveness, now);
  }

  async exportImage(path: string): Promise<void> {
    await exportImage(this.conn, path);
  }

  async restoreImage(path: string): Promise<void> {
    await restoreImage(this.conn, path);
  }

  async compact(now: number, retainMs: number | null): Promise<CompactionReport> {
    return compact(this.conn, now, retainMs);
  }
}
