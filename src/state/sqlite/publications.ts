import type { SqliteConnection } from './connection.js';

/** The next publication number, taken inside the caller's write transaction (gapless, never reused). */
export function nextPublicationSeq(conn: SqliteConnection): number {
  return conn.db.prepare(`UPDATE sequences SET value = value + 1 WHERE name = 'publication' RETURNING value`).pluck().get() as number;
}

/** The newest publication number (0 before the first), whatever compaction has removed since. */
export function latestSeq(conn: SqliteConnection): number {
  return (conn.db.prepare(`SELECT value FROM sequences WHERE name = 'publication'`).pluck().get() as number | undefined) ?? 0;
}
