import type { MergedRows, WindowResult } from '../../model.js';
import { mergeIntoTotals } from '../../reducers/summarize.js';
import { encodeRows } from '../codec.js';
import { finalizationLimit, isLive } from '../liveness.js';
import type { FinalizeOutcome, FinalizeRequest, HeldWindow } from '../port.js';
import type { SqliteConnection } from './connection.js';
import { windowDeltas } from './reads.js';
import { isRegistered, markDead, runningWorkers } from './workers.js';

/**
 * Finalizes, exactly once, every window of the job that all live workers
 * have moved past, in one IMMEDIATE transaction: running workers that are
 * not live are marked dead first; each window's deltas are merged, its rows
 * published under the next sequence number (UNIQUE (job, window_start)
 * makes a second publication impossible) and its deltas dropped.
 */
export function finalizeReady(conn: SqliteConnection, request: FinalizeRequest): FinalizeOutcome {
  const { job, self, liveness, now } = request;
  const held = new Map<number, HeldWindow>();
  for (const h of request.held ?? []) held.set(h.start, h);
  // Outside the transaction: a held table is used up once merged, even if a retry follows.
  const usedHeld = new Set<number>();
  const published = conn.write(() => {
    const live = runningWorkers(conn, job).filter((w) => {
      if (w.id === self || isLive(w, liveness, now)) return true;
      markDead(conn, w.id, now);
      return false;
    });
    return publishWindowsEndingBy(conn, request, finalizationLimit(live), (start) => {
      const h = held.get(start);
      if (h === undefined || usedHeld.has(start) || !isRegistered(conn, h.workerId)) return null;
      usedHeld.add(start);
      return h;
    });
  });
  return { published, usedHeld };
}

function publishWindowsEndingBy(
  conn: SqliteConnection,
  { job, summarize, now }: FinalizeRequest,
  time: number,
  heldFor: (start: number) => HeldWindow | null,
): WindowResult[] {
  const published: WindowResult[] = [];
  const windows = conn.db
    .prepare(
      `SELECT window_start AS start, MAX(window_end) AS "end" FROM deltas WHERE job = ? AND window_end <= ?
       GROUP BY window_start ORDER BY window_start`,
    )
    .all(job, time) as Array<{ start: number; end: number }>;
  const insert = conn.db.prepare(
    // CAST: UTF-8 JSON written as bytes is stored as the TEXT it is, with no conversion.
    `INSERT INTO results (job, window_start, window_end, finalized_at, row_count, rows)
     VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT)) ON CONFLICT (job, window_start) DO NOTHING`,
  );
  const drop = conn.db.prepare('DELETE FROM deltas WHERE job = ? AND window_start = ?');
  for (const { start, end } of windows) {
    const held = heldFor(start);
    const merged: MergedRows =
      held !== null
        ? mergeIntoTotals(held.totals, windowDeltas(conn, job, start, held.deltaIds))
        : summarize(windowDeltas(conn, job, start, []));
    const info = insert.run(job, start, end, now, merged.size, merged.json?.() ?? encodeRows(merged.rows()));
    drop.run(job, start);
    if (info.changes === 1) {
      const seq = Number(info.lastInsertRowid);
      // Decoded only if someone reads them: a --quiet worker never makes a string per key.
      published.push({ job, start, end, state: 'final', seq, get rows() { return merged.rows(); } });
    }
  }
  return published;
}
