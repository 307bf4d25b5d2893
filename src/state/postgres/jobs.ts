import { refuseDifferentDefinition } from '../job-definition.js';
import type { JobDefinition, SourceOffset } from '../port.js';
import type { PgConnection } from './connection.js';

/** Pins the job's definition on first use; refuses a run whose definition differs, naming each difference. */
export async function ensureJob(conn: PgConnection, job: string, definition: JobDefinition, now: number, retainMs: number): Promise<void> {
  await conn.transaction(async (client) => {
    // ON CONFLICT: two workers starting at once both pin the same row, neither fails.
    await client.query(
      `INSERT INTO jobs (job, definition, created_at, retain_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (job) DO NOTHING`,
      [job, JSON.stringify(definition), now, retainMs],
    );
    const { rows } = await client.query<{ definition: string }>('UPDATE jobs SET retain_ms = $2 WHERE job = $1 RETURNING definition', [
      job,
      retainMs,
    ]);
    refuseDifferentDefinition(job, conn.displayName, JSON.parse(rows[0]!.definition) as JobDefinition, definition);
  });
}

export async function jobDefinition(conn: PgConnection, job: string): Promise<JobDefinition | undefined> {
  const { rows } = await conn.query<{ definition: string }>('SELECT definition FROM jobs WHERE job = $1', [job]);
  return rows.length === 0 ? undefined : (JSON.parse(rows[0]!.definition) as JobDefinition);
}

export async function jobNames(conn: PgConnection): Promise<string[]> {
  // COLLATE "C": the same order as SQLite's, by code unit, whatever the database's locale.
  const { rows } = await conn.query<{ job: string }>('SELECT job FROM jobs ORDER BY job COLLATE "C"');
  return rows.map((r) => r.job);
}

export async function sourceOffset(conn: PgConnection, job: string, source: string): Promise<SourceOffset | undefined> {
  const { rows } = await conn.query<SourceOffset>(
    `SELECT "offset", lines, max_event_time AS "maxEventTime", identity FROM sources WHERE job = $1 AND source = $2`,
    [job, source],
  );
  return rows[0];
}
