import type { MergedRows, WindowResult } from '../../model.js';
import { mergeIntoTotals } from '../../reducers/summarize.js';
import { decodeRows, encodeRows } from '../codec.js';
import { finalizationLimit, isLive } from '../liveness.js';
import type { FinalizeOutcome, FinalizeRequest, HeldWindow } from '../port.js';
import { nextRevision, type LastRevision } from '../revisions.js';
import type { SqliteConnection } from './connection.js';
import { nextPublicationSeq } from './publications.js';
import { windowDeltas } from './reads.js';
import { isRegistered, markDead, runningWorkers } from './workers.js';

/**
 * Publishes, exactly once per (window, revision), every window of the job
 * that all live workers have moved past, in one IMMEDIATE transaction.
 * Running workers that are not live are marked dead first.
 *
 * A window is published *final* when the job's watermark has passed its end
 * (the smallest live watermark; with no live worker left, the furthest any
 * worker committed): its deltas go, and it never changes again. With no live
 * worker left, a window the watermark has not passed is published
 * *provisional*: its deltas stay, so a later record is added to it and it is
 * published again, as the next revision, when it has changed or once the
 * watermark passes its end (then final, with the same rows if nothing changed).
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
    const limit = finalizationLimit(live);
    const watermark = live.length > 0 ? limit : request.lastRun === true ? Infinity : furthestWatermark(conn, job);
    return publishWindowsEndingBy(conn, request, limit, watermark, (start) => {
      const h = held.get(start);
      if (h === undefined || usedHeld.has(start) || !isRegistered(conn, h.workerId)) return null;
      usedHeld.add(start);
      return h;
    });
  });
  return { published, usedHeld };
}

/** The furthest watermark any worker of the job committed: how far the job's input is known complete. */
function furthestWatermark(conn: SqliteConnection, job: string): number {
  const mark = conn.db.prepare('SELECT MAX(watermark) FROM workers WHERE job = ?').pluck().get(job) as number | null;
  return mark ?? -Infinity;
}

function publishWindowsEndingBy(
  conn: SqliteConnection,
  { job, summarize, now }: FinalizeRequest,
  limit: number,
  watermark: number,
  heldFor: (start: number) => HeldWindow | null,
): WindowResult[] {
  const { db } = conn;
  const published: WindowResult[] = [];
  const windows = db
    .prepare(
      `SELECT window_start AS start, MAX(window_end) AS "end", MAX(id) AS lastDelta FROM deltas
       WHERE job = ? AND window_end <= ? GROUP BY window_start ORDER BY window_start`,
    )
    .all(job, limit) as Array<{ start: number; end: number; lastDelta: number }>;
  const lastRevision = db.prepare(
    `SELECT revision, through_delta AS throughDelta, rows, row_count AS rowCount FROM results
     WHERE job = ? AND window_start = ? ORDER BY revision DESC LIMIT 1`,
  );
  const insert = db.prepare(
    // CAST: UTF-8 JSON written as bytes is stored as the TEXT it is, with no conversion.
    `INSERT INTO results (seq, job, window_start, window_end, revision, final, through_delta, finalized_at, row_count, rows)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT))`,
  );
  const drop = db.prepare('DELETE FROM deltas WHERE job = ? AND window_start = ?');
  for (const { start, end, lastDelta } of windows) {
    const last = lastRevision.get(job, start) as LastRevision | undefined;
    const next = nextRevision(end, lastDelta, last, watermark);
    if (next === null) continue; // provisional, and nothing new since it was published
    const { final, revision } = next;
    let merged: MergedRows;
    let text: Buffer | string;
    if (next.changed) {
      const held = heldFor(start);
      merged =
        held !== null
          ? mergeIntoTotals(held.totals, windowDeltas(conn, job, start, held.deltaIds))
          : summarize(windowDeltas(conn, job, start, []));
      text = merged.json?.() ?? encodeRows(merged.rows());
    } else {
      // The watermark passed a provisional window that did not change: the same rows, now final.
      const rows = last!.rows;
      merged = { size: last!.rowCount, rows: () => decodeRows(rows) };
      text = rows;
    }
    const seq = nextPublicationSeq(conn);
    insert.run(seq, job, start, end, revision, final ? 1 : 0, lastDelta, now, merged.size, text);
    if (final) drop.run(job, start);
    const state = final ? 'final' : 'provisional';
    // Decoded only if someone reads them: a --quiet worker never makes a string per key.
    published.push({ job, start, end, state, seq, revision, get rows() { return merged.rows(); } });
  }
  return published;
}
