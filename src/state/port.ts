/**
 * The state port: every operation the pipeline and the commands need from a
 * state store, as one interface of async methods, with the types of its
 * protocol. The pipeline and the commands know only this file (and
 * `openStore` in open.ts); each backend is an adapter behind it (today
 * SQLite, file or in memory: sqlite/store.ts). test/conformance runs one
 * suite against every adapter.
 *
 * The protocol, whatever the backend:
 * - A commit is all or nothing: the window deltas, the source offsets they
 *   came from, the counters and the worker's heartbeat. It is refused with
 *   StaleBatchError when a source's committed offset is not the batch's
 *   `fromOffset` (a replay), and with FencedError when the worker is no
 *   longer running (declared dead by another worker).
 * - A window is published final exactly once, when every live worker's
 *   committed watermark has passed its end (with none live: the furthest
 *   watermark committed); its deltas go. A window published because no live
 *   worker holds it any more, before that, is provisional: its deltas stay, a
 *   later record is added to it, and it is published again (the next
 *   revision, complete rows) when it changed or becomes final. Each
 *   publication gets the next sequence number (gapless, in commit order,
 *   never reused), in the same transaction; each (window, revision) once.
 * - A record for a final window is late: counted, never applied.
 * - A store never calls back into the pipeline inside a transaction: what a
 *   worker holds goes in as data (HeldWindow, DedupeRecords), merged with pure
 *   functions from src/reducers.
 * - `now` is the caller's clock; a store shared across hosts may keep
 *   heartbeats and liveness on its own clock instead.
 */
import type { DeltaColumns, Summarizer, WindowResult } from '../model.js';
import type { WordCountTable } from '../reducers/word-count-table.js';

export type JobDefinition = Readonly<Record<string, string>>;

/** How far a source's input has been committed. */
export interface SourceOffset {
  readonly offset: number;
  readonly lines: number;
  readonly maxEventTime: number | null;
  readonly identity: string | null;
}

export interface SourceProgress {
  readonly source: string;
  readonly kind: string;
  /** Offset the batch started from; the commit is refused if the database disagrees (replayed batch). */
  readonly fromOffset: number;
  readonly toOffset: number;
  readonly lines: number;
  /** Newest event time among the records up to toOffset; null in processing time. */
  readonly maxEventTime: number | null;
  /** The file's device:inode, so a rerun can tell a replaced file. */
  readonly identity?: string | null;
  /** Network sources: clients connected now, and connections refused so far. */
  readonly clients?: number;
  readonly refused?: number;
}

export interface WindowDelta {
  readonly start: number;
  readonly end: number;
  readonly delta: DeltaColumns;
}

/** A worker's liveness and progress, written with each of its commits. */
export interface WorkerBeat {
  readonly id: string;
  /** Committed watermark: windows ending at or before it hold all of this worker's data; null holds everything. */
  readonly watermark: number | null;
  readonly idle: boolean;
}

export interface NewWorker {
  readonly id: string;
  readonly job: string;
  readonly pid: number;
  readonly host: string;
  readonly watermark: number | null;
}

/**
 * Records carrying ids (--dedupe), column-wise: the store decides which ids
 * are new inside the commit transaction and builds the window deltas of
 * those records (a pure function of these columns).
 */
export interface DedupeRecords {
  readonly ids: readonly string[];
  /** Each record's window start. */
  readonly starts: readonly number[];
  readonly keys: readonly string[];
  /** Each record's value; null when the reduction only counts. */
  readonly values: readonly number[] | null;
  /** 'quantile': the values go into quantile sketches, not partial aggregates. */
  readonly sketch?: 'quantile';
  readonly windowMs: number;
  /** When the ids applied by this batch expire. */
  readonly expiresAt: number;
}

export interface CommitBatch {
  readonly job: string;
  readonly now: number;
  readonly windows: readonly WindowDelta[];
  readonly worker?: WorkerBeat;
  /** With --dedupe: the deltas of the records whose ids are new are committed besides `windows`. */
  readonly dedupe?: DedupeRecords;
  readonly sources: readonly SourceProgress[];
  readonly records: number;
  readonly rejected: number;
  readonly late: number;
  /** Duplicates the worker already recognised within the batch (--dedupe). */
  readonly duplicates?: number;
}

export interface CommitOutcome {
  /** Records of the batch that fell into windows already finalized: counted as late, changing nothing. */
  readonly lateRecords: number;
  /** Records skipped because their id was already applied (--dedupe). */
  readonly duplicates: number;
  /** The delta row written for each window start (none for an empty or already finalized window). */
  readonly deltaIds: ReadonlyMap<number, number>;
}

/**
 * What a worker holds merged in memory for one window: the totals of the
 * delta rows `deltaIds` it committed (settled, nothing uncommitted). Handed
 * over to a finalization, which merges the window's other deltas into
 * `totals` instead of reading the worker's own rows back. The store uses it
 * only while `workerId` is still registered (a snapshot restore drops every
 * registration, and then the database alone counts), at most once even if a
 * transaction is retried, and reports the windows it used: their tables are
 * used up.
 */
export interface HeldWindow {
  readonly workerId: string;
  readonly start: number;
  readonly deltaIds: readonly number[];
  readonly totals: WordCountTable;
}

export interface FinalizeRequest {
  readonly job: string;
  /** The calling worker: live whatever its heartbeat says; null for a worker that has finished. */
  readonly self: string | null;
  readonly liveness: Liveness;
  /** Merges a window's deltas into rows (from src/reducers). */
  readonly summarize: Summarizer;
  readonly now: number;
  readonly held?: readonly HeldWindow[];
  /**
   * Nothing can amend what this call publishes (state in memory, ending with
   * its only run): every window it publishes is final, none provisional.
   */
  readonly lastRun?: boolean;
}

export interface FinalizeOutcome {
  /** The windows this call published, oldest first. */
  readonly published: readonly WindowResult[];
  /** Starts of the held windows whose tables were used (the caller drops them). */
  readonly usedHeld: ReadonlySet<number>;
}

/** How a store tells live workers from dead ones. */
export interface Liveness {
  readonly host: string;
  readonly timeoutMs: number;
  /** Whether a process of this host is still there. */
  readonly pidAlive: (pid: number) => boolean;
}

export type WorkerState = 'running' | 'finished' | 'dead';

export interface WorkerInfo {
  readonly id: string;
  readonly job: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly state: WorkerState;
  readonly watermark: number | null;
  readonly idle: boolean;
  /** `state`, except that a running worker past the liveness rule (liveness.ts) is 'dead'. */
  readonly health: 'alive' | 'finished' | 'dead';
}

export interface StatusReport {
  readonly database: string;
  readonly schemaVersion: number;
  readonly databaseBytes: number;
  readonly walBytes: number;
  readonly publishedSeq: number;
  readonly jobs: ReadonlyArray<{
    job: string;
    definition: JobDefinition;
    records: number;
    rejected: number;
    late: number;
    duplicates: number;
    /** Windows never published. */
    openWindows: number;
    /** Windows published provisional (still accumulating). */
    provisionalWindows: number;
    finalizedWindows: number;
  }>;
  readonly sources: ReadonlyArray<{
    job: string;
    source: string;
    kind: string;
    offset: number;
    lines: number;
    maxEventTime: number | null;
    clients: number;
    refused: number;
    updatedAt: number;
  }>;
  /** Windows still accumulating (open or provisional), with their delta rows. */
  readonly openWindows: ReadonlyArray<{
    job: string;
    start: number;
    end: number;
    state: 'open' | 'provisional';
    /** The revision last published (provisional windows), else null. */
    revision: number | null;
    commits: number;
    keyRows: number;
  }>;
  readonly workers: readonly WorkerInfo[];
}

/** A publication without its rows, as `top` lists the latest ones. */
export interface PublicationSummary {
  readonly seq: number;
  readonly job: string;
  readonly start: number;
  readonly end: number;
  readonly revision: number;
  readonly final: boolean;
  readonly rowCount: number;
  /** When it was published. */
  readonly publishedAt: number;
}

export interface CompactionReport {
  /** Publications superseded by a later revision of their window. */
  readonly revisions: number;
  /** Final windows past retention. */
  readonly results: number;
  readonly dedupeIds: number;
  readonly workers: number;
}

export interface PublicationWait {
  /** How often a backend without notifications looks again. */
  readonly pollMs: number;
  readonly signal: AbortSignal;
}

/**
 * The tables a snapshot image carries (everything but worker registrations).
 * An image is an SQLite database at this statesync's SCHEMA_VERSION
 * (sqlite/schema.ts) whatever the backend, so a snapshot of one backend
 * restores into another.
 */
export const SNAPSHOT_TABLES = ['jobs', 'sources', 'deltas', 'results', 'dedupe', 'sequences'] as const;

/** How a command opens the store (openStore in open.ts). */
export interface StoreOptions {
  /** The state must exist already (a UsageError otherwise). */
  readonly mustExist?: boolean;
  /**
   * The command only reads (query, watch, status, snapshot export): the state
   * must exist, and nothing is written, so it may be where this process cannot write.
   */
  readonly readOnly?: boolean;
}

export interface StateStore {
  close(): Promise<void>;

  /**
   * Pins the job's definition on first use; refuses (UsageError) a run whose
   * definition differs, naming each difference. Sets the job's retention.
   */
  ensureJob(job: string, definition: JobDefinition, now: number, retainMs: number): Promise<void>;
  jobDefinition(job: string): Promise<JobDefinition | undefined>;
  jobNames(): Promise<string[]>;
  sourceOffset(job: string, source: string): Promise<SourceOffset | undefined>;

  /** Registers a running worker of the job. */
  registerWorker(worker: NewWorker, now: number): Promise<void>;
  /** A heartbeat without data; FencedError when the worker is no longer running. */
  heartbeat(beat: WorkerBeat, now: number): Promise<void>;
  /** Marks the worker finished (end of input or a clean stop): it no longer holds any window open. */
  finishWorker(id: string, now: number): Promise<void>;
  /** Every registered worker, oldest first, with its health by `liveness`. */
  workers(liveness: Liveness, now: number): Promise<WorkerInfo[]>;

  /** Applies one batch, all or nothing (see the protocol above). */
  commit(batch: CommitBatch): Promise<CommitOutcome>;
  /**
   * Replaces a worker's own deltas `ids` of an open window by one row, their
   * sum `window`, so whoever finalizes the window merges one row instead of
   * one per commit. Does nothing unless every one of `ids` is still there and
   * the worker is still registered.
   */
  collapseDeltas(job: string, window: WindowDelta, workerId: string, ids: readonly number[], now: number): Promise<void>;

  /**
   * Publishes every window of the job that all live workers have moved past
   * (liveness.ts: finalizationLimit), final or provisional (see the protocol
   * above), each (window, revision) exactly once. Running
   * workers that are not live are marked dead first and hold nothing back.
   * One transaction; returns what this call published.
   */
  finalizeReady(request: FinalizeRequest): Promise<FinalizeOutcome>;
  /** The earliest end among the job's open windows, or null when none is open. */
  earliestOpenWindowEnd(job: string): Promise<number | null>;
  /** Starts of the job's final windows that end after `time` (a record for one of them is late). */
  finalizedStartsEndingAfter(job: string, time: number): Promise<number[]>;

  /**
   * Windows that are not final, with their current rows (every delta
   * merged), in start order: open ones (never published) and provisional
   * ones (with the revision last published).
   */
  readOpen(job: string | null, summarize: (job: string) => Summarizer): Promise<WindowResult[]>;
  /** The publication log, from sequence number `fromSeq` on: every revision of every window, in order. */
  readPublished(job: string | null, fromSeq?: number): Promise<WindowResult[]>;
  /** Final windows, as their last revision, in publication order. */
  readFinalWindows(job: string | null): Promise<WindowResult[]>;
  /** The newest `limit` publications of the job (or of every job), newest first, without their rows (for `top`). */
  recentPublications(job: string | null, limit: number): Promise<PublicationSummary[]>;
  /**
   * Resolves once a publication numbered `seq` or later exists (of any job),
   * or when `wait.signal` aborts, with the newest publication number then
   * (0 before the first). For `watch --follow`.
   */
  waitForPublication(seq: number, wait: PublicationWait): Promise<number>;
  status(liveness: Liveness, now: number): Promise<StatusReport>;

  /**
   * Writes a consistent point-in-time image of the SNAPSHOT_TABLES to `path`
   * (a new SQLite file; see SNAPSHOT_TABLES) while writers keep committing:
   * one read transaction. SQLite copies itself with VACUUM INTO; another
   * backend applies sqlite/schema.ts's MIGRATIONS to a fresh file and inserts
   * its rows, read in one repeatable-read transaction.
   */
  exportImage(path: string): Promise<void>;
  /**
   * Replaces all state with the validated image at `path`, in one
   * transaction: readers see the old state or the new one, never a mix, and a
   * failure leaves the old one. Worker registrations are not state; none
   * survive.
   */
  restoreImage(path: string): Promise<void>;
  /**
   * Drops finalized results older than each job's retention (or `retainMs`
   * for all), expired dedupe ids and long-ended worker rows, and gives the
   * space back. Open windows are never touched.
   */
  compact(now: number, retainMs: number | null): Promise<CompactionReport>;
}
