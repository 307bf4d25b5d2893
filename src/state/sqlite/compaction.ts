import { DEFAULT_RETAIN_MS, ENDED_WORKER_ROWS_MS } from '../../defaults.js';
import type { CompactionReport } from '../port.js';
import type { SqliteConnection } from './connection.js';

/**
 * Drops revisions superseded by a later one, final windows older than each
 * job's retention (or `retainMs` for all), expired dedupe ids and long-ended
 * worker rows, then gives free pages back and checkpoints the WAL. Open and
 * provisional windows and their deltas are never touched.
 */
export function compact(conn: SqliteConnection, now: number, retainMs: number | null): CompactionReport {
  const { db } = conn;
  const report = conn.write(() => ({
    // A revision superseded by a later one of its window: the later one holds the complete rows.
    revisions: db
      .prepare(
        `DELETE FROM results WHERE EXISTS (SELECT 1 FROM results AS later
           WHERE later.job = results.job AND later.window_start = results.window_start AND later.revision > results.revision)`,
      )
      .run().changes,
    results:
      // Past retention: final windows only (a provisional one still has deltas, like an open one).
      db
        .prepare(
          `DELETE FROM results WHERE final = 1
             AND window_end < @now - COALESCE(@retain, (SELECT retain_ms FROM jobs WHERE jobs.job = results.job), @fallback)`,
        )
        .run({ now, retain: retainMs, fallback: DEFAULT_RETAIN_MS }).changes,
    dedupeIds: db.prepare('DELETE FROM dedupe WHERE expires_at <= ?').run(now).changes,
    workers: db.prepare(`DELETE FROM workers WHERE state != 'running' AND heartbeat_at < ?`).run(now - ENDED_WORKER_ROWS_MS).changes,
  }));
  conn.write(() => db.pragma('incremental_vacuum'));
  if (conn.path !== null) db.pragma('wal_checkpoint(TRUNCATE)');
  return report;
}
