import { setTimeout as sleep } from 'node:timers/promises';
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
import { SqliteConnection } from './connection.js';
import { finalizeReady } from './finalization.js';
import { exportImage, restoreImage } from './image.js';
import { ensureJob, jobDefinition, jobNames, sourceOffset } from './jobs.js';
import { latestSeq } from './publications.js';
import * as reads from './reads.js';
import * as workers from './workers.js';

/**
 * The SQLite adapter of the state port: a file in WAL mode shared by several
 * processes, or a database in memory (no --db). Every operation runs
 * synchronously on better-sqlite3, each write in one IMMEDIATE transaction
 * (connection.ts), and resolves when done; the modules beside this one hold
 * one role each.
 */
export class SqliteStore implements StateStore {
  private constructor(private readonly conn: SqliteConnection) {}

  /** Opens (creating and migrating) the database; `path` null keeps state in memory. See StoreOptions. */
  static open(path: string | null, options: StoreOptions = {}): SqliteStore {
    return new SqliteStore(SqliteConnection.open(path, options));
  }

  async close(): Promise<void> {
    this.conn.close();
  }

  async ensureJob(job: string, definition: JobDefinition, now: number, retainMs: number): Promise<void> {
    ensureJob(this.conn, job, definition, now, retainMs);
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

  async registerWorker(worker: NewWorker, now: number): Promise<void> {
    workers.registerWorker(this.conn, worker, now);
  }

  async heartbeat(beat: WorkerBeat, now: number): Promise<void> {
    this.conn.write(() => workers.beat(this.conn, beat, now));
  }

  async finishWorker(id: string, now: number): Promise<void> {
    workers.finishWorker(this.conn, id, now);
  }

  async workers(liveness: Liveness, now: number): Promise<WorkerInfo[]> {
    return workers.listWorkers(this.conn, liveness, now);
  }

  async commit(batch: CommitBatch): Promise<CommitOutcome> {
    return commitBatch(this.conn, batch);
  }

  async collapseDeltas(job: string, window: WindowDelta, workerId: string, ids: readonly number[], now: number): Promise<void> {
    collapseDeltas(this.conn, job, window, workerId, ids, now);
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
    // A follower of a private copy sees what was published since it was taken.
    this.conn.refresh();
    return reads.readPublished(this.conn, job, fromSeq);
  }

  async readFinalWindows(job: string | null): Promise<WindowResult[]> {
    return reads.readFinalWindows(this.conn, job);
  }

  async recentPublications(job: string | null, limit: number): Promise<PublicationSummary[]> {
    this.conn.refresh();
    return reads.recentPublications(this.conn, job, limit);
  }

  /** Polls the publication log's highest sequence number: an indexed read, next to free when idle. */
  async waitForPublication(seq: number, wait: PublicationWait): Promise<number> {
    for (;;) {
      // A follower of a private copy sees what was published since it was taken.
      this.conn.refresh();
      const latest = latestSeq(this.conn);
      if (latest >= seq || wait.signal.aborted) return latest;
      await sleep(wait.pollMs, undefined, { signal: wait.signal }).catch(() => undefined);
    }
  }

  async status(liveness: Liveness, now: number): Promise<StatusReport> {
    // A reader of a private copy that asks again (top) sees what was committed since it was taken.
    this.conn.refresh();
    return reads.status(this.conn, liveness, now);
  }

  async exportImage(path: string): Promise<void> {
    exportImage(this.conn, path);
  }

  async restoreImage(path: string): Promise<void> {
    restoreImage(this.conn, path);
  }

  async compact(now: number, retainMs: number | null): Promise<CompactionReport> {
    return compact(this.conn, now, retainMs);
  }
}
