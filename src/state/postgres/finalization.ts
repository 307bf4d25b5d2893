import type { DeltaColumns, MergedRows, WindowResult } from '../../model.js';
import { mergeIntoTotals } from '../../reducers/summarize.js';
import { DELTA_COLUMNS, decodeDelta, decodeRows, encodeRows, type DeltaRow } from '../codec.js';
import { finalizationLimit, isLive } from '../liveness.js';
import type { FinalizeOutcome, FinalizeRequest, HeldWindow } from '../port.js';
import { nextRevision, type LastRevision } from '../revisions.js';
import { lockJob } from './commits.js';
import type { Client, PgConnection, Queryable } from './connection.js';
import { notifyPublished } from './notifications.js';
import { isRegistered, markDead, runningWorkers } from './workers.js';

/**
 * Publishes, exactly once per (window, revision), every window of the job
 * that all live workers have moved past, in one transaction holding the
 * job's row lock (no commit of the job interleaves) and, from its first
 * publication on, the publication counter's row (numbers gapless and in
 * commit order). The rule is sqlite/finalization.ts's and revisions.ts's.
 */
export async function finalizeReady(conn: PgConnection, request: FinalizeRequest): Promise<FinalizeOutcome> {
  const { job, self, liveness, now } = request;
  const held = new Map<number, HeldWindow>();
  for (const h of request.held ?? []) held.set(h.start, h);
  // Outside the transaction: a held table is used up once merged, even if a retry follows.
  const usedHeld = new Set<number>();
  const published = await conn.transaction(async (client) => {
    await lockJob(client, job);
    const live = [];
    for (const w of await runningWorkers(client, job, now)) {
      if (w.id === self || isLive(w, liveness, now)) live.push(w);
      else await markDead(client, w.id);
    }
    const limit = finalizationLimit(live);
    const watermark = live.length > 0 ? limit : request.lastRun === true ? Infinity : await furthestWatermark(client, job);
    return publishWindowsEndingBy(client, request, limit, watermark, async (start) => {
      const h = held.get(start);
      if (h === undefined || usedHeld.has(start) || !(await isRegistered(client, h.workerId))) return null;
      usedHeld.add(start);
      return h;
    });
  });
  return { published, usedHeld };
}

async function furthestWatermark(client: Client, job: string): Promise<number> {
  const { rows } = await client.query<{ mark: number | null }>('SELECT MAX(watermark) AS mark FROM workers WHERE job = $1', [job]);
  return rows[0]!.mark ?? -Infinity;
}

async function publishWindowsEndingBy(
  client: Client,
  { job, summarize, now }: FinalizeRequest,
  limit: number,
  watermark: number,
  heldFor: (start: number) => Promise<HeldWindow | null>,
): Promise<WindowResult[]> {
  const published: WindowResult[] = [];
  const { rows: windows } = await client.query<{ start: number; end: number; lastDelta: number }>(
    `SELECT window_start AS start, MAX(window_end) AS "end", MAX(id) AS "lastDelta" FROM deltas
     WHERE job = $1 AND window_end <= $2 GROUP BY window_start ORDER BY window_start`,
    // A watermark of ±Infinity (none yet, or all idle) as the widest bigint bound.
    [job, Math.max(-Number.MAX_SAFE_INTEGER, Math.min(limit, Number.MAX_SAFE_INTEGER))],
  );
  for (const { start, end, lastDelta } of windows) {
    const { rows: lastRows } = await client.query<LastRevision>(
      `SELECT revision, through_delta AS "throughDelta", rows, row_count AS "rowCount" FROM results
       WHERE job = $1 AND window_start = $2 ORDER BY revision DESC LIMIT 1`,
      [job, start],
    );
    const last = lastRows[0];
    const next = nextRevision(end, lastDelta, last, watermark);
    if (next === null) continue; // provisional, and nothing new since it was published
    const { final, revision } = next;
    let merged: MergedRows;
    let text: string;
    if (next.changed) {
      const h = await heldFor(start);
      merged =
        h !== null
          ? mergeIntoTotals(h.totals, await windowDeltas(client, job, start, h.deltaIds))
          : summarize(await windowDeltas(client, job, start, []));
      text = merged.json?.().toString('utf8') ?? encodeRows(merged.rows());
    } else {
      // The watermark passed a provisional window that did not change: the same rows, now final.
      const rows = last!.rows;
      merged = { size: last!.rowCount, rows: () => decodeRows(rows) };
      text = rows;
    }
    const seq = await nextPublicationSeq(client);
    await client.query(
      `INSERT INTO results (seq, job, window_start, window_end, revision, final, through_delta, finalized_at, row_count, rows)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [seq, job, start, end, revision, final, lastDelta, now, merged.size, text],
    );
    if (final) await client.query('DELETE FROM deltas WHERE job = $1 AND window_start = $2', [job, start]);
    const state = final ? 'final' : 'provisional';
    // Decoded only if someone reads them: a --quiet worker never makes a string per key.
    published.push({ job, start, end, state, seq, revision, get rows() { return merged.rows(); } });
  }
  if (published.length > 0) await notifyPublished(client, published[published.length - 1]!.seq!);
  return published;
}

/** The next publication number, inside the caller's transaction: the counter row stays locked until it commits. */
async function nextPublicationSeq(client: Client): Promise<number> {
  const { rows } = await client.query<{ value: number }>(`UPDATE sequences SET value = value + 1 WHERE name = 'publication' RETURNING value`);
  return rows[0]!.value;
}

/** A window's deltas but those in `except` (a worker's own, merged in memory already), oldest first. */
export async function windowDeltas(client: Queryable, job: string, start: number, except: readonly number[]): Promise<DeltaColumns[]> {
  const { rows } = await client.query<DeltaRow>(
    `SELECT ${DELTA_COLUMNS} FROM deltas WHERE job = $1 AND window_start = $2 AND NOT (id = ANY($3::bigint[])) ORDER BY id`,
    [job, start, except],
  );
  return rows.map(decodeDelta);
}
