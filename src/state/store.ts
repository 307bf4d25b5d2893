import { statSync } from 'node:fs';
import type { Database as DB } from 'better-sqlite3';
import { describeCause, FencedError, RuntimeFailure, StaleBatchError, StatesyncError, UsageError } from '../errors.js';
import type { DeltaColumns, ResultRow, Summarizer, WindowResult } from '../model.js';
import { decodeDelta, encodeDelta } from './codec.js';
import { inspectSchema, newerSchema, openForReading, openForWriting } from './open.js';
import { openSqlite } from './sqlite.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

export type JobDefinition = Readonly<Record<string, string>>;

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

/** Records carrying ids (--dedupe): the store decides which are new inside the commit transaction. */
export interface DedupeBatch {
  readonly ids: readonly string[];
  readonly expiresAt: number;
  /** Builds the window deltas from the records whose ids were new (accepted[i] === 1). */
  readonly build: (accepted: Uint8Array) => readonly WindowDelta[];
}

export interface CommitBatch {
  readonly job: string;
  readonly now: number;
  readonly windows: readonly WindowDelta[];
  readonly worker?: WorkerBeat;
  readonly dedupe?: DedupeBatch;
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
 * What a worker already holds merged in memory for one window: the deltas it
 * committed itself (as `workerId`), and how to merge the rest into them. A
 * finalization uses it only while `workerId` is still registered, so after a
 * snapshot restore (which drops every registration) the database alone counts.
 */
export interface LocalWindow {
  readonly workerId: string;
  readonly deltaIds: readonly number[];
  /** Merges the window's other deltas into what the worker holds and gives the rows. */
  readonly mergeRest: Summarizer;
}

export type LocalWindows = (start: number) => LocalWindow | null;

export interface WorkerInfo {
  readonly id: string;
  readonly job: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly state: 'running' | 'finished' | 'dead';
  readonly watermark: number | null;
  readonly idle: boolean;
}

/** How finalization tells live workers from dead ones. */
export interface Liveness {
  readonly host: string;
  readonly timeoutMs: number;
  /** Whether a process of this host is still there. */
  readonly pidAlive: (pid: number) => boolean;
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
    openWindows: number;
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
  readonly openWindows: ReadonlyArray<{ job: string; start: number; end: number; commits: number; keyRows: number }>;
  readonly workers: readonly WorkerInfo[];
}

const BUSY_RETRIES = 20;

/** The tables a snapshot carries (everything but worker registrations). */
export const SNAPSHOT_TABLES = ['jobs', 'sources', 'deltas', 'results', 'dedupe'] as const;

/**
 * The SQLite store: the only module that talks to better-sqlite3. Every write
 * is one IMMEDIATE transaction, retried a bounded number of times on SQLITE_BUSY.
 */
export class StateStore {
  private constructor(
    private db: DB,
    readonly path: string | null,
    /** Set for a reader of a private copy of the file (see openForReading): whether the file changed since. */
    private changed: (() => boolean) | null = null,
  ) {}

  /**
   * Opens (creating and migrating) the database; `path` null keeps state in memory.
   * `readOnly` (query, watch, status, snapshot export): the database must exist, and
   * nothing is written to it, so it may be a file this process cannot write.
   */
  static open(path: string | null, options: { mustExist?: boolean; readOnly?: boolean } = {}): StateStore {
    if (path !== null && options.readOnly === true) return StateStore.openReadOnly(path);
    let db: DB;
    try {
      db = path === null ? openSqlite(':memory:') : openForWriting(path, options.mustExist === true);
    } catch (err) {
      if (err instanceof StatesyncError) throw err;
      throw new RuntimeFailure(`cannot open database ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma('busy_timeout = 5000');
      // Read before anything is written, so someone else's database is left exactly as it was.
      const schema = path === null ? 'empty' : inspectSchema(db, path);
      // A fresh database frees pages incrementally, so compaction can give space back
      // without a full VACUUM (which would block writers for its whole duration).
      if (schema === 'empty') db.pragma('auto_vacuum = INCREMENTAL');
      if (path !== null) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') throw new RuntimeFailure(`cannot put ${path} in WAL mode (got ${String(mode)})`);
      }
      // WAL + NORMAL: a committed transaction survives a process crash; only power loss can drop the last ones.
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -32000');
      // SQLite checkpoints the WAL after commits (every 1000 pages); this also shrinks the
      // file back after a burst, so continuous writers keep it bounded.
      db.pragma('journal_size_limit = 67108864');
      migrate(db);
    } catch (err) {
      db.close();
      if (err instanceof StatesyncError) throw err;
      const message = (err as Error).message;
      if (/file is not a database|malformed/i.test(message)) {
        throw new UsageError(`${path} is not a statesync database (${message})`);
      }
      throw new RuntimeFailure(`cannot use database ${path}: ${message}`, { cause: err });
    }
    return new StateStore(db, path);
  }

  private static openReadOnly(path: string): StateStore {
    const { db, changed } = openForReading(path);
    return new StateStore(db, path, changed);
  }

  /**
   * A reader of a private copy (a database at rest where this process cannot
   * write) opens the file again once it changed, e.g. when a writer started.
   */
  refresh(): void {
    if (this.changed === null || this.path === null || !this.changed()) return;
    const next = StateStore.openReadOnly(this.path);
    this.db.close();
    this.db = next.db;
    this.changed = next.changed;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Pins the job's definition on first use; refuses a run whose definition
   * differs, naming each difference.
   */
  ensureJob(job: string, definition: JobDefinition, now: number, retainMs = 3_600_000): void {
    this.write(() => {
      this.db.prepare('UPDATE jobs SET retain_ms = ? WHERE job = ?').run(retainMs, job);
      const row = this.db.prepare('SELECT definition FROM jobs WHERE job = ?').get(job) as
        | { definition: string }
        | undefined;
      if (row === undefined) {
        this.db
          .prepare('INSERT INTO jobs (job, definition, created_at, retain_ms) VALUES (?, ?, ?, ?)')
          .run(job, JSON.stringify(definition), now, retainMs);
        return;
      }
      const pinned = JSON.parse(row.definition) as JobDefinition;
      const differences: string[] = [];
      for (const name of new Set([...Object.keys(pinned), ...Object.keys(definition)])) {
        if (pinned[name] !== definition[name]) {
          differences.push(`${name} ${pinned[name] ?? '(unset)'} (this run: ${definition[name] ?? '(unset)'})`);
        }
      }
      if (differences.length > 0) {
        throw new UsageError(
          `job '${job}' in ${this.path ?? 'memory'} was defined with ${differences.join(', ')}; ` +
            `rerun with the same options or pick another --job`,
        );
      }
    });
  }

  jobDefinition(job: string): JobDefinition | undefined {
    const row = this.db.prepare('SELECT definition FROM jobs WHERE job = ?').get(job) as
      | { definition: string }
      | undefined;
    return row === undefined ? undefined : (JSON.parse(row.definition) as JobDefinition);
  }

  sourceOffset(
    job: string,
    source: string,
  ): { offset: number; lines: number; maxEventTime: number | null; identity: string | null } | undefined {
    return this.db
      .prepare(
        'SELECT offset, lines, max_event_time AS maxEventTime, identity FROM sources WHERE job = ? AND source = ?',
      )
      .get(job, source) as { offset: number; lines: number; maxEventTime: number | null; identity: string | null } | undefined;
  }

  /** Starts of finalized windows of the job that end after `time`. */
  finalizedStartsEndingAfter(job: string, time: number): number[] {
    return this.db
      .prepare('SELECT window_start FROM results WHERE job = ? AND window_end > ?')
      .pluck()
      .all(job, time) as number[];
  }

  /** The earliest end among the job's open windows, or null when none is open. */
  earliestOpenWindowEnd(job: string): number | null {
    return (this.db.prepare('SELECT MIN(window_end) FROM deltas WHERE job = ?').pluck().get(job) as number | null) ?? null;
  }

  /**
   * Applies one batch: the window deltas, the source offsets they came from
   * and the counters, all or nothing. A batch whose starting offsets do not
   * match the database was already applied (or superseded) and is refused.
   */
  commit(batch: CommitBatch): CommitOutcome {
    let lateRecords = 0;
    let duplicates = 0;
    const deltaIds = new Map<number, number>();
    this.write(() => {
      lateRecords = 0;
      duplicates = batch.duplicates ?? 0;
      deltaIds.clear();
      if (batch.worker !== undefined) this.beat(batch.worker, batch.now);
      const getOffset = this.db.prepare('SELECT offset FROM sources WHERE job = ? AND source = ?').pluck();
      for (const s of batch.sources) {
        const current = (getOffset.get(batch.job, s.source) as number | undefined) ?? 0;
        if (current !== s.fromOffset) {
          throw new StaleBatchError(
            `source ${s.source} of job '${batch.job}' is at offset ${current} in the database, ` +
              `but this batch starts at ${s.fromOffset}: another process applied it`,
          );
        }
      }
      const isFinal = this.db.prepare('SELECT 1 FROM results WHERE job = ? AND window_start = ?').pluck();
      const insertDelta = this.db.prepare(
        `INSERT INTO deltas (job, window_start, window_end, key_count, keys, counts, sums, sum_lows, mins, maxs, committed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      let windows = batch.windows;
      let records = batch.records;
      if (batch.dedupe !== undefined) {
        const accepted = this.acceptNewIds(batch.job, batch.dedupe, batch.now);
        const known = accepted.length - accepted.reduce((n, a) => n + a, 0);
        duplicates += known;
        records -= known;
        windows = batch.dedupe.build(accepted);
      }
      for (const w of windows) {
        if (w.delta.size === 0) continue;
        if (isFinal.get(batch.job, w.start) !== undefined) {
          for (let i = 0; i < w.delta.size; i++) lateRecords += w.delta.counts[i]!;
          continue;
        }
        const blobs = encodeDelta(w.delta);
        const inserted = insertDelta.run(
          batch.job,
          w.start,
          w.end,
          w.delta.size,
          blobs.keys,
          blobs.counts,
          blobs.sums,
          blobs.sumLows,
          blobs.mins,
          blobs.maxs,
          batch.now,
        );
        deltaIds.set(w.start, Number(inserted.lastInsertRowid));
      }
      const upsertSource = this.db.prepare(
        `INSERT INTO sources (job, source, kind, offset, lines, max_event_time, identity, clients, refused, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job, source) DO UPDATE SET offset = excluded.offset, lines = sources.lines + excluded.lines,
           max_event_time = excluded.max_event_time, identity = excluded.identity, clients = excluded.clients,
           refused = excluded.refused, updated_at = excluded.updated_at`,
      );
      for (const s of batch.sources) {
        upsertSource.run(
          batch.job,
          s.source,
          s.kind,
          s.toOffset,
          s.lines,
          s.maxEventTime,
          s.identity ?? null,
          s.clients ?? 0,
          s.refused ?? 0,
          batch.now,
        );
      }
      if (records !== 0 || batch.rejected !== 0 || batch.late !== 0 || duplicates !== 0) {
        this.db
          .prepare(
            `UPDATE jobs SET records = records + ?, rejected = rejected + ?, late = late + ?,
               duplicates = duplicates + ? WHERE job = ?`,
          )
          .run(records - lateRecords, batch.rejected, batch.late + lateRecords, duplicates, batch.job);
      }
    });
    return { lateRecords, duplicates, deltaIds };
  }

  /** Marks each id new (1) or already applied and unexpired (0), and records the new ones. */
  private acceptNewIds(job: string, dedupe: DedupeBatch, now: number): Uint8Array {
    const accepted = new Uint8Array(dedupe.ids.length);
    const seen = this.db.prepare('SELECT expires_at FROM dedupe WHERE job = ? AND id = ?').pluck();
    const remember = this.db.prepare(
      `INSERT INTO dedupe (job, id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (job, id) DO UPDATE SET expires_at = excluded.expires_at`,
    );
    for (let i = 0; i < dedupe.ids.length; i++) {
      const id = dedupe.ids[i]!;
      const expiresAt = seen.get(job, id) as number | undefined;
      if (expiresAt !== undefined && expiresAt > now) continue;
      remember.run(job, id, dedupe.expiresAt);
      accepted[i] = 1;
    }
    return accepted;
  }

  /**
   * Replaces a worker's own deltas of an open window by one row, their sum,
   * so whoever finalizes the window merges one row instead of one per commit.
   * Does nothing unless every one of `ids` is still there and the worker is
   * still registered (none of it finalized or restored away meanwhile).
   */
  collapseDeltas(job: string, window: WindowDelta, workerId: string, ids: readonly number[], now: number): void {
    this.write(() => {
      if (this.db.prepare('SELECT 1 FROM workers WHERE worker_id = ?').get(workerId) === undefined) return;
      const idList = JSON.stringify(ids);
      const present = this.db
        .prepare('SELECT COUNT(*) FROM deltas WHERE job = ? AND window_start = ? AND id IN (SELECT value FROM json_each(?))')
        .pluck()
        .get(job, window.start, idList) as number;
      if (present !== ids.length) return;
      this.db.prepare('DELETE FROM deltas WHERE id IN (SELECT value FROM json_each(?))').run(idList);
      const blobs = encodeDelta(window.delta);
      this.db
        .prepare(
          `INSERT INTO deltas (job, window_start, window_end, key_count, keys, counts, sums, sum_lows, mins, maxs, committed_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(job, window.start, window.end, window.delta.size, blobs.keys, blobs.counts, blobs.sums, blobs.sumLows, blobs.mins, blobs.maxs, now);
    });
  }

  /** Registers a running worker of the job. */
  registerWorker(worker: { id: string; job: string; pid: number; host: string; watermark: number | null }, now: number): void {
    this.write(() => {
      this.db
        .prepare(
          `INSERT INTO workers (worker_id, job, pid, host, started_at, heartbeat_at, state, watermark)
           VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`,
        )
        .run(worker.id, worker.job, worker.pid, worker.host, now, now, worker.watermark);
    });
  }

  /** A heartbeat without data; throws FencedError when the others have declared this worker dead. */
  heartbeat(worker: WorkerBeat, now: number): void {
    this.write(() => this.beat(worker, now));
  }

  /** Marks the worker finished (end of input or a clean stop): it no longer holds any window open. */
  finishWorker(id: string, now: number): void {
    this.write(() => {
      this.db
        .prepare(`UPDATE workers SET state = 'finished', ended_at = ?, heartbeat_at = ? WHERE worker_id = ? AND state = 'running'`)
        .run(now, now, id);
    });
  }

  private beat(worker: WorkerBeat, now: number): void {
    const info = this.db
      .prepare(
        `UPDATE workers SET heartbeat_at = ?, watermark = ?, idle = ? WHERE worker_id = ? AND state = 'running'`,
      )
      .run(now, worker.watermark, worker.idle ? 1 : 0, worker.id);
    if (info.changes === 0) {
      throw new FencedError(`worker ${worker.id} was declared dead by the other workers (no heartbeat in time)`);
    }
  }

  /**
   * Finalizes, exactly once, every window of the job that all live workers
   * have moved past: their smallest committed watermark (idle workers aside)
   * is at or beyond the window's end. Workers whose heartbeat is older than
   * the timeout, or whose process on this host is gone, are marked dead first
   * and hold nothing back. With no running worker left, every open window is
   * finished. One IMMEDIATE transaction; returns what this call published.
   */
  finalizeReady(
    job: string,
    self: string | null,
    liveness: Liveness,
    summarize: Summarizer,
    now: number,
    local: LocalWindows | null = null,
  ): WindowResult[] {
    let published: WindowResult[] = [];
    this.write(() => {
      const running = this.db
        .prepare(`SELECT worker_id, pid, host, heartbeat_at, watermark, idle FROM workers WHERE job = ? AND state = 'running'`)
        .all(job) as Array<{ worker_id: string; pid: number; host: string; heartbeat_at: number; watermark: number | null; idle: number }>;
      const markDead = this.db.prepare(`UPDATE workers SET state = 'dead', ended_at = ? WHERE worker_id = ?`);
      const live = running.filter((w) => {
        if (w.worker_id === self) return true;
        const gone = now - w.heartbeat_at > liveness.timeoutMs || (w.host === liveness.host && !liveness.pidAlive(w.pid));
        if (gone) markDead.run(now, w.worker_id);
        return !gone;
      });
      const limit = finalizationLimit(live);
      published = this.finalizeWithin(job, limit, summarize, now, local);
    });
    return published;
  }

  /**
   * Writes a consistent copy of the whole database to `path`: VACUUM INTO
   * reads it in one read transaction, so writers keep committing meanwhile.
   */
  exportTo(path: string): void {
    this.db.prepare('VACUUM INTO ?').run(path);
  }

  /**
   * Replaces all state with the snapshot database at `path` (validated and at
   * this schema version), in one transaction: readers see the old state or the
   * new one, never a mix. Worker registrations are not state; none survive.
   */
  replaceWith(path: string): void {
    this.db.prepare("ATTACH DATABASE ? AS snapshot").run(path);
    try {
      this.write(() => {
        for (const table of SNAPSHOT_TABLES) {
          this.db.exec(`DELETE FROM main.${table}; INSERT INTO main.${table} SELECT * FROM snapshot.${table};`);
        }
        this.db.exec('DELETE FROM main.workers;');
      });
    } finally {
      this.db.exec('DETACH DATABASE snapshot');
    }
  }

  /**
   * Drops finalized results older than each job's retention (or `retainMs`
   * for all), expired dedupe ids and long-ended worker rows, then gives free
   * pages back and checkpoints the WAL. Open windows and their deltas are
   * never touched.
   */
  compact(now: number, retainMs: number | null): { results: number; dedupeIds: number; workers: number } {
    let counts = { results: 0, dedupeIds: 0, workers: 0 };
    this.write(() => {
      const results = this.db
        .prepare(
          `DELETE FROM results WHERE window_end < @now - COALESCE(@retain, (SELECT retain_ms FROM jobs WHERE jobs.job = results.job), 3600000)`,
        )
        .run({ now, retain: retainMs }).changes;
      const dedupeIds = this.db.prepare('DELETE FROM dedupe WHERE expires_at <= ?').run(now).changes;
      const workers = this.db
        .prepare(`DELETE FROM workers WHERE state != 'running' AND heartbeat_at < ? - 3600000`)
        .run(now).changes;
      counts = { results, dedupeIds, workers };
    });
    this.write(() => {
      this.db.pragma('incremental_vacuum');
    });
    if (this.path !== null) this.db.pragma('wal_checkpoint(TRUNCATE)');
    return counts;
  }

  /** Running workers (of any job) that are alive by `liveness`. */
  liveWorkers(liveness: Liveness, now: number): WorkerInfo[] {
    return this.workers(null).filter(
      (w) =>
        w.state === 'running' &&
        now - w.heartbeatAt <= liveness.timeoutMs &&
        (w.host !== liveness.host || liveness.pidAlive(w.pid)),
    );
  }

  workers(job: string | null): WorkerInfo[] {
    return (
      this.db
        .prepare(
          `SELECT worker_id, job, pid, host, started_at, heartbeat_at, state, watermark, idle FROM workers
           WHERE (@job IS NULL OR job = @job) ORDER BY started_at, worker_id`,
        )
        .all({ job }) as Array<{
        worker_id: string;
        job: string;
        pid: number;
        host: string;
        started_at: number;
        heartbeat_at: number;
        state: WorkerInfo['state'];
        watermark: number | null;
        idle: number;
      }>
    ).map((w) => ({
      id: w.worker_id,
      job: w.job,
      pid: w.pid,
      host: w.host,
      startedAt: w.started_at,
      heartbeatAt: w.heartbeat_at,
      state: w.state,
      watermark: w.watermark,
      idle: w.idle === 1,
    }));
  }

  /** The job's open windows that end at or before `time`, oldest first. */
  private openWindowsEndingBy(job: string, time: number): Array<{ start: number; end: number }> {
    return this.db
      .prepare(
        `SELECT window_start AS start, MAX(window_end) AS "end" FROM deltas WHERE job = ? AND window_end <= ?
         GROUP BY window_start ORDER BY window_start`,
      )
      .all(job, time) as Array<{ start: number; end: number }>;
  }

  /**
   * Finalizes every open window of the job that ends at or before `time`:
   * merges its deltas, publishes the rows under the next sequence number and
   * drops the deltas, in one transaction. Returns what it published.
   */
  finalizeUpTo(job: string, time: number, summarize: Summarizer, now: number): WindowResult[] {
    let published: WindowResult[] = [];
    this.write(() => {
      published = this.finalizeWithin(job, time, summarize, now, null);
    });
    return published;
  }

  /** The body of a finalization; runs inside the caller's write transaction. */
  private finalizeWithin(job: string, time: number, summarize: Summarizer, now: number, local: LocalWindows | null): WindowResult[] {
    const published: WindowResult[] = [];
    const windows = this.openWindowsEndingBy(job, time);
    const insert = this.db.prepare(
      // CAST: UTF-8 JSON written as bytes is stored as the TEXT it is, with no conversion.
      `INSERT INTO results (job, window_start, window_end, finalized_at, row_count, rows)
       VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT)) ON CONFLICT (job, window_start) DO NOTHING`,
    );
    const drop = this.db.prepare('DELETE FROM deltas WHERE job = ? AND window_start = ?');
    const registered = this.db.prepare('SELECT 1 FROM workers WHERE worker_id = ?').pluck();
    for (const { start, end } of windows) {
      const held = local?.(start) ?? null;
      const merged =
        held !== null && registered.get(held.workerId) !== undefined
          ? held.mergeRest(this.windowDeltas(job, start, held.deltaIds))
          : summarize(this.windowDeltas(job, start, []));
      const text = merged.json?.() ?? encodeRows(merged.rows());
      const info = insert.run(job, start, end, now, merged.size, text);
      drop.run(job, start);
      if (info.changes === 1) {
        const seq = Number(info.lastInsertRowid);
        // Decoded only if someone reads them: a --quiet worker never makes a string per key.
        published.push({ job, start, end, state: 'final', seq, get rows() { return merged.rows(); } });
      }
    }
    return published;
  }

  /** Open windows with their current (merged, not yet final) rows. */
  readOpen(job: string | null, summarize: (job: string) => Summarizer): WindowResult[] {
    const windows = this.db
      .prepare(
        `SELECT job, window_start AS start, MAX(window_end) AS "end" FROM deltas WHERE (@job IS NULL OR job = @job)
         GROUP BY job, window_start ORDER BY window_start, job`,
      )
      .all({ job }) as Array<{ job: string; start: number; end: number }>;
    return windows.map(({ job: j, start, end }) => ({
      job: j,
      start,
      end,
      state: 'open',
      seq: null,
      rows: summarize(j)(this.windowDeltas(j, start, [])).rows(),
    }));
  }

  /** Finalized windows in publication order, from sequence number `fromSeq` on. */
  readFinal(job: string | null, fromSeq = 0): WindowResult[] {
    const rows = this.db
      .prepare(
        `SELECT seq, job, window_start, window_end, rows FROM results
         WHERE seq >= @fromSeq AND (@job IS NULL OR job = @job) ORDER BY seq`,
      )
      .all({ fromSeq, job }) as Array<{ seq: number; job: string; window_start: number; window_end: number; rows: string }>;
    return rows.map((r) => ({
      job: r.job,
      start: r.window_start,
      end: r.window_end,
      state: 'final',
      seq: r.seq,
      rows: decodeRows(r.rows),
    }));
  }

  jobNames(): string[] {
    return this.db.prepare('SELECT job FROM jobs ORDER BY job').pluck().all() as string[];
  }

  status(): StatusReport {
    const jobs = (
      this.db
        .prepare(
          `SELECT j.job, j.definition, j.records, j.rejected, j.late, j.duplicates,
             (SELECT COUNT(DISTINCT window_start) FROM deltas d WHERE d.job = j.job) AS open_windows,
             (SELECT COUNT(*) FROM results r WHERE r.job = j.job) AS finalized_windows
           FROM jobs j ORDER BY j.job`,
        )
        .all() as Array<{
        job: string;
        definition: string;
        records: number;
        rejected: number;
        late: number;
        duplicates: number;
        open_windows: number;
        finalized_windows: number;
      }>
    ).map((j) => ({
      job: j.job,
      definition: JSON.parse(j.definition) as JobDefinition,
      records: j.records,
      rejected: j.rejected,
      late: j.late,
      duplicates: j.duplicates,
      openWindows: j.open_windows,
      finalizedWindows: j.finalized_windows,
    }));
    const sources = (
      this.db
        .prepare(
          'SELECT job, source, kind, offset, lines, max_event_time, clients, refused, updated_at FROM sources ORDER BY job, source',
        )
        .all() as Array<{
        job: string;
        source: string;
        kind: string;
        offset: number;
        lines: number;
        max_event_time: number | null;
        clients: number;
        refused: number;
        updated_at: number;
      }>
    ).map((s) => ({
      job: s.job,
      source: s.source,
      kind: s.kind,
      offset: s.offset,
      lines: s.lines,
      maxEventTime: s.max_event_time,
      clients: s.clients,
      refused: s.refused,
      updatedAt: s.updated_at,
    }));
    const openWindows = this.db
      .prepare(
        `SELECT job, window_start AS start, MAX(window_end) AS "end", COUNT(*) AS commits, SUM(key_count) AS keyRows
         FROM deltas GROUP BY job, window_start ORDER BY window_start, job`,
      )
      .all() as Array<{ job: string; start: number; end: number; commits: number; keyRows: number }>;
    const publishedSeq = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) FROM results').pluck().get() as number) ?? 0;
    return {
      database: this.path ?? ':memory:',
      schemaVersion: this.db.pragma('user_version', { simple: true }) as number,
      databaseBytes: fileSize(this.path),
      walBytes: fileSize(this.path === null ? null : `${this.path}-wal`),
      publishedSeq,
      jobs,
      sources,
      openWindows,
      workers: this.workers(null),
    };
  }

  /**
   * The window's deltas, read one row at a time as they are merged: a window
   * of a million keys committed every second never has all its deltas in
   * memory at once. The statement holds the connection until fully read.
   * Rows in `except` (a worker's own, already merged in memory) are skipped.
   */
  private *windowDeltas(job: string, start: number, except: readonly number[]): Generator<DeltaColumns> {
    const rows = this.db
      .prepare(
        `SELECT key_count, keys, counts, sums, sum_lows, mins, maxs FROM deltas
         WHERE job = ? AND window_start = ? AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id`,
      )
      .iterate(job, start, JSON.stringify(except)) as IterableIterator<{
      key_count: number;
      keys: Buffer;
      counts: Buffer;
      sums: Buffer | null;
      sum_lows: Buffer | null;
      mins: Buffer | null;
      maxs: Buffer | null;
    }>;
    for (const row of rows) yield decodeDelta(row);
  }

  /** Runs fn in an IMMEDIATE transaction, retrying with backoff while another process holds the lock. */
  private write(fn: () => void): void {
    const txn = this.db.transaction(fn);
    for (let attempt = 0; ; attempt++) {
      try {
        txn.immediate();
        return;
      } catch (err) {
        if (!isBusy(err) || attempt >= BUSY_RETRIES) {
          if (isBusy(err)) {
            throw new RuntimeFailure(`database ${this.path} stayed locked by another process; giving up after ${attempt + 1} tries`);
          }
          if (refusedBySystem(err)) throw new RuntimeFailure(`cannot write ${this.path}: ${describeCause(err)}`, { cause: err });
          throw err;
        }
        sleepSync(Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  }
}

/**
 * How far windows may be finalized: the smallest watermark among live,
 * non-idle workers (a worker without one holds everything back). When every
 * live worker is idle, the furthest of them; with none live, everything.
 */
function finalizationLimit(live: ReadonlyArray<{ watermark: number | null; idle: number }>): number {
  if (live.length === 0) return Number.MAX_SAFE_INTEGER;
  const active = live.filter((w) => w.idle === 0);
  const marks = (active.length > 0 ? active : live).map((w) => w.watermark ?? -Infinity);
  return active.length > 0 ? Math.min(...marks) : Math.max(...marks);
}

function migrate(db: DB): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const refuseNewer = (v: number) => {
    if (v > SCHEMA_VERSION) throw newerSchema(v);
  };
  refuseNewer(version());
  if (version() === SCHEMA_VERSION) return;
  // Several processes may open a fresh database at once: the version is read
  // again under the write lock, so exactly one of them applies each step.
  db.transaction(() => {
    const current = version();
    refuseNewer(current);
    for (let v = current; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/** JSON [[key, value], ...]; a bigint value is stored as a decimal string so no precision is lost. */
function encodeRows(rows: readonly ResultRow[]): string {
  // One native call and no string per row: the common case, and the only one at a million keys.
  if (!rows.some((row) => typeof row[1] === 'bigint')) return JSON.stringify(rows);
  const parts = new Array<string>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const [key, value] = rows[i]!;
    parts[i] = `[${JSON.stringify(key)},${typeof value === 'bigint' ? `"${value}"` : JSON.stringify(value)}]`;
  }
  return `[${parts.join(',')}]`;
}

function decodeRows(text: string): ResultRow[] {
  const rows = JSON.parse(text) as Array<[string, number | string]>;
  return rows.map(([key, value]) => [key, typeof value === 'string' ? BigInt(value) : value]);
}

/** A full disk, an I/O error, a read-only file or mount: the outside world refused a write, not a bug. */
function refusedBySystem(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|PERM)/.test(code);
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function fileSize(path: string | null): number {
  if (path === null) return 0;
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
