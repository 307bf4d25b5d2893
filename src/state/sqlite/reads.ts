import type { DeltaColumns, Summarizer, WindowResult } from '../../model.js';
import { DELTA_COLUMNS, decodeDelta, decodeRows, type DeltaRow } from '../codec.js';
import type { JobDefinition, Liveness, StatusReport } from '../port.js';
import type { SqliteConnection } from './connection.js';
import { listWorkers } from './workers.js';

/**
 * A window's deltas, read one row at a time as they are merged: a window of
 * a million keys committed every second never has all its deltas in memory
 * at once. The statement holds the connection until fully read. Rows in
 * `except` (a worker's own, already merged in memory) are skipped.
 */
export function* windowDeltas(conn: SqliteConnection, job: string, start: number, except: readonly number[]): Generator<DeltaColumns> {
  const rows = conn.db
    .prepare(
      `SELECT ${DELTA_COLUMNS} FROM deltas
       WHERE job = ? AND window_start = ? AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id`,
    )
    .iterate(job, start, JSON.stringify(except)) as IterableIterator<DeltaRow>;
  for (const row of rows) yield decodeDelta(row);
}

/** Open windows with their current (merged, not yet final) rows. */
export function readOpen(conn: SqliteConnection, job: string | null, summarize: (job: string) => Summarizer): WindowResult[] {
  const windows = conn.db
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
    rows: summarize(j)(windowDeltas(conn, j, start, [])).rows(),
  }));
}

/** Finalized windows in publication order, from sequence number `fromSeq` on. */
export function readFinal(conn: SqliteConnection, job: string | null, fromSeq: number): WindowResult[] {
  const rows = conn.db
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

/** The highest publication sequence number (0 before the first). */
export function latestSeq(conn: SqliteConnection): number {
  return conn.db.prepare('SELECT COALESCE(MAX(seq), 0) FROM results').pluck().get() as number;
}

export function finalizedStartsEndingAfter(conn: SqliteConnection, job: string, time: number): number[] {
  return conn.db.prepare('SELECT window_start FROM results WHERE job = ? AND window_end > ?').pluck().all(job, time) as number[];
}

export function earliestOpenWindowEnd(conn: SqliteConnection, job: string): number | null {
  return (conn.db.prepare('SELECT MIN(window_end) FROM deltas WHERE job = ?').pluck().get(job) as number | null) ?? null;
}

export function status(conn: SqliteConnection, liveness: Liveness, now: number): StatusReport {
  const { db } = conn;
  const jobs = (
    db
      .prepare(
        `SELECT j.job, j.definition, j.records, j.rejected, j.late, j.duplicates,
           (SELECT COUNT(DISTINCT window_start) FROM deltas d WHERE d.job = j.job) AS openWindows,
           (SELECT COUNT(*) FROM results r WHERE r.job = j.job) AS finalizedWindows
         FROM jobs j ORDER BY j.job`,
      )
      .all() as Array<Omit<StatusReport['jobs'][number], 'definition'> & { definition: string }>
  ).map((j) => ({ ...j, definition: JSON.parse(j.definition) as JobDefinition }));
  const sources = db
    .prepare(
      `SELECT job, source, kind, offset, lines, max_event_time AS maxEventTime, clients, refused, updated_at AS updatedAt
       FROM sources ORDER BY job, source`,
    )
    .all() as StatusReport['sources'];
  const openWindows = db
    .prepare(
      `SELECT job, window_start AS start, MAX(window_end) AS "end", COUNT(*) AS commits, SUM(key_count) AS keyRows
       FROM deltas GROUP BY job, window_start ORDER BY window_start, job`,
    )
    .all() as StatusReport['openWindows'];
  return {
    database: conn.path ?? ':memory:',
    schemaVersion: conn.schemaVersion(),
    ...conn.fileSizes(),
    publishedSeq: latestSeq(conn),
    jobs,
    sources,
    openWindows,
    workers: listWorkers(conn, liveness, now),
  };
}
