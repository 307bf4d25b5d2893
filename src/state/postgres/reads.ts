import type { Summarizer, WindowResult } from '../../model.js';
import { publicationOf, PUBLICATION_COLUMNS, type PublicationRow } from '../codec.js';
import type { JobDefinition, Liveness, PublicationSummary, StatusReport } from '../port.js';
import type { PgConnection } from './connection.js';
import { windowDeltas } from './finalization.js';
import { latestSeq } from './notifications.js';
import { PG_SCHEMA_VERSION } from './schema.js';
import { listWorkers } from './workers.js';

/** Windows that are not final, with their current rows: open ones, and provisional ones with their last revision. */
export async function readOpen(conn: PgConnection, job: string | null, summarize: (job: string) => Summarizer): Promise<WindowResult[]> {
  const { rows: windows } = await conn.query<{ job: string; start: number; end: number; revision: number | null }>(
    `SELECT d.job, d.window_start AS start, MAX(d.window_end) AS "end",
       (SELECT MAX(revision) FROM results r WHERE r.job = d.job AND r.window_start = d.window_start) AS revision
     FROM deltas d WHERE ($1::text IS NULL OR d.job = $1)
     GROUP BY d.job, d.window_start ORDER BY d.window_start, d.job COLLATE "C"`,
    [job],
  );
  const results: WindowResult[] = [];
  for (const { job: j, start, end, revision } of windows) {
    const rows = summarize(j)(await windowDeltas(conn, j, start, [])).rows();
    results.push({ job: j, start, end, state: revision === null ? 'open' : 'provisional', seq: null, revision, rows });
  }
  return results;
}

const SELECT_PUBLICATIONS = `SELECT ${PUBLICATION_COLUMNS} FROM results`;

/** The publication log in order, from sequence number `fromSeq` on: every revision of every window. */
export async function readPublished(conn: PgConnection, job: string | null, fromSeq: number): Promise<WindowResult[]> {
  const { rows } = await conn.query<PublicationRow>(
    `${SELECT_PUBLICATIONS} WHERE seq >= $1 AND ($2::text IS NULL OR job = $2) ORDER BY seq`,
    [fromSeq, job],
  );
  return rows.map(publicationOf);
}

/** Final windows (their last revision), in publication order. */
export async function readFinalWindows(conn: PgConnection, job: string | null): Promise<WindowResult[]> {
  const { rows } = await conn.query<PublicationRow>(`${SELECT_PUBLICATIONS} WHERE final AND ($1::text IS NULL OR job = $1) ORDER BY seq`, [
    job,
  ]);
  return rows.map(publicationOf);
}

/** The newest `limit` publications, newest first, without their rows. */
export async function recentPublications(conn: PgConnection, job: string | null, limit: number): Promise<PublicationSummary[]> {
  const { rows } = await conn.query<PublicationSummary>(
    `SELECT seq, job, window_start AS start, window_end AS "end", revision, final, row_count AS "rowCount",
       finalized_at AS "publishedAt"
     FROM results WHERE ($1::text IS NULL OR job = $1) ORDER BY seq DESC LIMIT $2`,
    [job, limit],
  );
  return rows;
}

export async function finalizedStartsEndingAfter(conn: PgConnection, job: string, time: number): Promise<number[]> {
  const { rows } = await conn.query<{ window_start: number }>('SELECT window_start FROM results WHERE job = $1 AND final AND window_end > $2', [
    job,
    // An event-time watermark before any event is -Infinity: as the widest bigint bound (finalization.ts does the same).
    Math.max(-Number.MAX_SAFE_INTEGER, Math.min(time, Number.MAX_SAFE_INTEGER)),
  ]);
  return rows.map((r) => r.window_start);
}

export async function earliestOpenWindowEnd(conn: PgConnection, job: string): Promise<number | null> {
  const { rows } = await conn.query<{ end: number | null }>('SELECT MIN(window_end) AS "end" FROM deltas WHERE job = $1', [job]);
  return rows[0]!.end;
}

export async function status(conn: PgConnection, liveness: Liveness, now: number): Promise<StatusReport> {
  const { rows: jobs } = await conn.query<Omit<StatusReport['jobs'][number], 'definition'> & { definition: string }>(
    `SELECT j.job, j.definition, j.records, j.rejected, j.late, j.duplicates,
       (SELECT COUNT(DISTINCT window_start) FROM deltas d WHERE d.job = j.job
          AND NOT EXISTS (SELECT 1 FROM results r WHERE r.job = d.job AND r.window_start = d.window_start)) AS "openWindows",
       (SELECT COUNT(DISTINCT window_start) FROM results r WHERE r.job = j.job AND NOT r.final
          AND NOT EXISTS (SELECT 1 FROM results f WHERE f.job = r.job AND f.window_start = r.window_start AND f.final))
         AS "provisionalWindows",
       (SELECT COUNT(*) FROM results r WHERE r.job = j.job AND r.final) AS "finalizedWindows"
     FROM jobs j ORDER BY j.job COLLATE "C"`,
  );
  const { rows: sources } = await conn.query<StatusReport['sources'][number]>(
    `SELECT job, source, kind, "offset", lines, max_event_time AS "maxEventTime", clients, refused, updated_at AS "updatedAt"
     FROM sources ORDER BY job COLLATE "C", source COLLATE "C"`,
  );
  const { rows: openWindows } = await conn.query<Omit<StatusReport['openWindows'][number], 'state'>>(
    `SELECT d.job, d.window_start AS start, MAX(d.window_end) AS "end", COUNT(*) AS commits, SUM(d.key_count)::bigint AS "keyRows",
       (SELECT MAX(revision) FROM results r WHERE r.job = d.job AND r.window_start = d.window_start) AS revision
     FROM deltas d GROUP BY d.job, d.window_start ORDER BY d.window_start, d.job COLLATE "C"`,
  );
  const { rows: size } = await conn.query<{ bytes: number }>(
    `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'statesync' AND c.relkind = 'r'`,
  );
  return {
    database: conn.displayName,
    schemaVersion: PG_SCHEMA_VERSION,
    databaseBytes: size[0]!.bytes,
    walBytes: 0,
    publishedSeq: await latestSeq(conn),
    jobs: jobs.map((j) => ({ ...j, definition: JSON.parse(j.definition) as JobDefinition })),
    sources,
    openWindows: openWindows.map((w) => ({ ...w, state: w.revision === null ? 'open' : 'provisional' })),
    workers: await listWorkers(conn, liveness, now),
  };
}
