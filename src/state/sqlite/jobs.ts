import { refuseDifferentDefinition } from '../job-definition.js';
import type { JobDefinition, SourceOffset } from '../port.js';
import type { SqliteConnection } from './connection.js';

/** Pins the job's definition on first use; refuses a run whose definition differs, naming each difference. */
export function ensureJob(conn: SqliteConnection, job: string, definition: JobDefinition, now: number, retainMs: number): void {
  const { db } = conn;
  conn.write(() => {
    db.prepare('UPDATE jobs SET retain_ms = ? WHERE job = ?').run(retainMs, job);
    const pinned = jobDefinition(conn, job);
    if (pinned === undefined) {
      db.prepare('INSERT INTO jobs (job, definition, created_at, retain_ms) VALUES (?, ?, ?, ?)').run(
        job,
        JSON.stringify(definition),
        now,
        retainMs,
      );
      return;
    }
    refuseDifferentDefinition(job, conn.path ?? 'memory', pinned, definition);
  });
}

export function jobDefinition(conn: SqliteConnection, job: string): JobDefinition | undefined {
  const row = conn.db.prepare('SELECT definition FROM jobs WHERE job = ?').get(job) as { definition: string } | undefined;
  return row === undefined ? undefined : (JSON.parse(row.definition) as JobDefinition);
}

export function jobNames(conn: SqliteConnection): string[] {
  return conn.db.prepare('SELECT job FROM jobs ORDER BY job').pluck().all() as string[];
}

export function sourceOffset(conn: SqliteConnection, job: string, source: string): SourceOffset | undefined {
  return conn.db
    .prepare('SELECT offset, lines, max_event_time AS maxEventTime, identity FROM sources WHERE job = ? AND source = ?')
    .get(job, source) as SourceOffset | undefined;
}
