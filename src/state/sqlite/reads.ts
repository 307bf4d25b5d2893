import type { DeltaColumns, Summarizer, WindowResult } from '../../model.js';
import { DELTA_COLUMNS, decodeDelta, publicationOf, PUBLICATION_COLUMNS, type DeltaRow, type PublicationRow } from '../codec.js';
import type { JobDefinition, Liveness, PublicationSummary, StatusReport } from '../port.js';
import type { SqliteConnection } from './connection.js';
import { latestSeq } from './publications.js';
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

/**
 * Windows that are not final, with their current rows (all their deltas
 * merged): open ones, never published, and provisional ones, with the
 * revision last published.
 */
export function readOpen(conn: SqliteConnection, job: string | null, summarize: (job: string) => Summarizer): WindowResult[] {
  const windows = conn.db
    .prepare(
      `SELECT d.job, d.window_start AS start, MAX(d.window_end) AS "end",
         (SELECT MAX(revision) FROM results r WHERE r.job = d.job AND r.window_start = d.window_start) AS revision
       FROM deltas d WHERE (@job IS NULL OR d.job = @job)
       GROUP BY d.job, d.window_start ORDER BY d.window_start, d.job`,
    )
    .all({ job }) as Array<{ job: string; start: number; end: number; revision: number | null }>;
  return windows.map(({ job: j, start, end, revision }) => ({
    job: j,
    start,
    end,
    state: revision === null ? 'open' : 'provisional',
    seq: null,
    revision,
    rows: summarize(j)(windowDeltas(conn, j, start, [])).rows(),
  }));
}

const SELECT_PUBLICATIONS = `SELECT ${PUBLICATION_COLUMNS} FROM results`;

/** The publication log in order, from sequence number `fromSeq` on: every revision of every window. */
export function readPublished(conn: SqliteConnection, job: string | null, fromSeq: number): WindowResult[] {
  return (
    conn.db
      .prepare(`${SELECT_PUBLICATIONS} WHERE seq >= @fromSeq AND (@job IS NULL OR job = @job) ORDER BY seq`)
      .all({ fromSeq, job }) as PublicationRow[]
  ).map(publicationOf);
}

/** Final windows (their last revision), in publication order. */
export function readFinalWindows(conn: SqliteConnection, job: string | null): WindowResult[] {
  return (
    conn.db.prepare(`${SELECT_PUBLICATIONS} WHERE final = 1 AND (@job IS NULL OR job = @job) ORDER BY seq`).all({ job }) as PublicationRow[]
  ).map(publicationOf);
}

/** The newest `limit` publications, newest first, without their rows (the rows column is never read). */
export function recentPublications(conn: SqliteConnection, job: string | null, limit: number): PublicationSummary[] {
  const rows = conn.db
    .prepare(
      `SELECT seq, job, window_start AS start, window_end AS "end", revision, final, row_count AS rowCount,
         finalized_at AS publishedAt
       FROM results WHERE (@job IS NULL OR job = @job) ORDER BY seq DESC LIMIT @limit`,
    )
    .all({ job, limit }) as Array<Omit<PublicationSummary, 'final'> & { final: number }>;
  return rows.map((r) => ({ ...r, final: r.final === 1 }));
}

/** Starts of the job's final windows that end after `time`. */
export function finalizedStartsEndingAfter(conn: SqliteConnection, job: string, time: number): number[] {
  return conn.db
    .prepare('SELECT window_start FROM results WHERE job = ? AND final = 1 AND window_end > ?')
    .pluck()
    .all(job, time) as number[];
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
           (SELECT COUNT(DISTINCT window_start) FROM deltas d WHERE d.job = j.job
              AND NOT EXISTS (SELECT 1 FROM results r WHERE r.job = d.job AND r.window_start = d.window_start)) AS openWindows,
           (SELECT COUNT(DISTINCT window_start) FROM results r WHERE r.job = j.job AND r.final = 0
              AND NOT EXISTS (SELECT 1 FROM results f WHERE f.job = r.job AND f.window_start = r.window_start AND f.final = 1))
             AS provisionalWindows,
           (SELECT COUNT(*) FROM results r WHERE r.job = j.job AND r.final = 1) AS finalizedWindows
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
      `SELECT d.job, d.window_start AS start, MAX(d.window_end) AS "end", COUNT(*) AS commits, SUM(d.key_count) AS keyRows,
         (SELECT MAX(revision) FROM results r WHERE r.job = d.job AND r.window_start = d.window_start) AS revision
       FROM deltas d GROUP BY d.job, d.window_start ORDER BY d.window_start, d.job`,
    )
    .all() as Array<Omit<StatusReport['openWindows'][number], 'state'>>;
  return {
    database: conn.path ?? ':memory:',
    schemaVersion: conn.schemaVersion(),
    ...conn.fileSizes(),
    publishedSeq: latestSeq(conn),
    jobs,
    sources,
    openWindows: openWindows.map((w) => ({ ...w, state: w.revision === null ? 'open' : 'provisional' })),
    workers: listWorkers(conn, liveness, now),
  };
}
