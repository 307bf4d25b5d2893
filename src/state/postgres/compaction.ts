import { DEFAULT_RETAIN_MS, ENDED_WORKER_ROWS_MS } from '../../defaults.js';
import type { CompactionReport } from '../port.js';
import { SERVER_NOW, type PgConnection } from './connection.js';

/**
 * Drops revisions superseded by a later one, final windows older than each
 * job's retention (or `retainMs` for all), expired dedupe ids and long-ended
 * worker rows (by the server's clock, like their heartbeats), then VACUUMs
 * the tables so the space is reused. Open and provisional windows and their
 * deltas are never touched.
 */
export async function compact(conn: PgConnection, now: number, retainMs: number | null): Promise<CompactionReport> {
  const report = await conn.transaction(async (client) => {
    const superseded = await client.query(
      `DELETE FROM results WHERE EXISTS (SELECT 1 FROM results AS later
         WHERE later.job = results.job AND later.window_start = results.window_start AND later.revision > results.revision)`,
    );
    const expired = await client.query(
      `DELETE FROM results WHERE final
         AND window_end < $1 - COALESCE($2::bigint, (SELECT retain_ms FROM jobs WHERE jobs.job = results.job), $3::bigint)`,
      [now, retainMs, DEFAULT_RETAIN_MS],
    );
    const dedupe = await client.query('DELETE FROM dedupe WHERE expires_at <= $1', [now]);
    const workers = await client.query(`DELETE FROM workers WHERE state != 'running' AND heartbeat_at < ${SERVER_NOW} - $1`, [
      ENDED_WORKER_ROWS_MS,
    ]);
    return {
      revisions: superseded.rowCount ?? 0,
      results: expired.rowCount ?? 0,
      dedupeIds: dedupe.rowCount ?? 0,
      workers: workers.rowCount ?? 0,
    };
  });
  // Outside any transaction, as VACUUM must be; it waits for no writer and blocks none.
  await conn.query('VACUUM results, deltas, dedupe, workers');
  return report;
}
