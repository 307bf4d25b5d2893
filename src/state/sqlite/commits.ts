import { StaleBatchError } from '../../errors.js';
import { partialTablesOf } from '../../reducers/partial-table.js';
import { DELTA_COLUMNS, encodeDelta } from '../codec.js';
import type { CommitBatch, CommitOutcome, DedupeRecords, WindowDelta } from '../port.js';
import type { SqliteConnection } from './connection.js';
import { beat, isRegistered } from './workers.js';

/**
 * Applies one batch in one transaction: the window deltas, the source offsets
 * they came from, the counters and the worker's heartbeat. A batch whose
 * starting offsets do not match the database was already applied (or
 * superseded) and is refused; so is a worker no longer running.
 */
export function commitBatch(conn: SqliteConnection, batch: CommitBatch): CommitOutcome {
  const { db } = conn;
  return conn.write(() => {
    let lateRecords = 0;
    let duplicates = batch.duplicates ?? 0;
    const deltaIds = new Map<number, number>();
    if (batch.worker !== undefined) beat(conn, batch.worker, batch.now);
    const getOffset = db.prepare('SELECT offset FROM sources WHERE job = ? AND source = ?').pluck();
    for (const s of batch.sources) {
      const current = (getOffset.get(batch.job, s.source) as number | undefined) ?? 0;
      if (current !== s.fromOffset) {
        throw new StaleBatchError(
          `source ${s.source} of job '${batch.job}' is at offset ${current} in the database, ` +
            `but this batch starts at ${s.fromOffset}: another process applied it`,
        );
      }
    }
    const isFinal = db.prepare('SELECT 1 FROM results WHERE job = ? AND window_start = ? AND final = 1').pluck();
    let windows = batch.windows;
    let records = batch.records;
    if (batch.dedupe !== undefined) {
      const accepted = acceptNewIds(conn, batch.job, batch.dedupe, batch.now);
      const known = accepted.length - accepted.reduce((n, a) => n + a, 0);
      duplicates += known;
      records -= known;
      windows = [...windows, ...acceptedDeltas(batch.dedupe, accepted)];
    }
    for (const w of windows) {
      if (w.delta.size === 0) continue;
      if (isFinal.get(batch.job, w.start) !== undefined) {
        for (let i = 0; i < w.delta.size; i++) lateRecords += w.delta.counts[i]!;
        continue;
      }
      deltaIds.set(w.start, insertDelta(conn, batch.job, w, batch.now));
    }
    const upsertSource = db.prepare(
      `INSERT INTO sources (job, source, kind, offset, lines, max_event_time, identity, clients, refused, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job, source) DO UPDATE SET offset = excluded.offset, lines = sources.lines + excluded.lines,
         max_event_time = excluded.max_event_time, identity = excluded.identity, clients = excluded.clients,
         refused = excluded.refused, updated_at = excluded.updated_at`,
    );
    for (const s of batch.sources) {
      upsertSource.run(
        batch.job,
        s.source,
        s.kind,
        s.toOffset,
        s.lines,
        s.maxEventTime,
        s.identity ?? null,
        s.clients ?? 0,
        s.refused ?? 0,
        batch.now,
      );
    }
    if (records !== 0 || batch.rejected !== 0 || batch.late !== 0 || duplicates !== 0) {
      db.prepare(
        `UPDATE jobs SET records = records + ?, rejected = rejected + ?, late = late + ?,
           duplicates = duplicates + ? WHERE job = ?`,
      ).run(records - lateRecords, batch.rejected, batch.late + lateRecords, duplicates, batch.job);
    }
    return { lateRecords, duplicates, deltaIds };
  });
}

/** Marks each id new (1) or already applied and unexpired (0), and records the new ones. */
function acceptNewIds(conn: SqliteConnection, job: string, dedupe: DedupeRecords, now: number): Uint8Array {
  const accepted = new Uint8Array(dedupe.ids.length);
  const seen = conn.db.prepare('SELECT expires_at FROM dedupe WHERE job = ? AND id = ?').pluck();
  const remember = conn.db.prepare(
    `INSERT INTO dedupe (job, id, expires_at) VALUES (?, ?, ?)
     ON CONFLICT (job, id) DO UPDATE SET expires_at = excluded.expires_at`,
  );
  for (let i = 0; i < dedupe.ids.length; i++) {
    const id = dedupe.ids[i]!;
    const expiresAt = seen.get(job, id) as number | undefined;
    if (expiresAt !== undefined && expiresAt > now) continue;
    remember.run(job, id, dedupe.expiresAt);
    accepted[i] = 1;
  }
  return accepted;
}

function acceptedDeltas(dedupe: DedupeRecords, accepted: Uint8Array): WindowDelta[] {
  return [...partialTablesOf(dedupe, accepted)].map(([start, delta]) => ({ start, end: start + dedupe.windowMs, delta }));
}

/** Replaces a worker's own deltas of an open window by one row, their sum (see the port). */
export function collapseDeltas(
  conn: SqliteConnection,
  job: string,
  window: WindowDelta,
  workerId: string,
  ids: readonly number[],
  now: number,
): void {
  conn.write(() => {
    if (!isRegistered(conn, workerId)) return;
    const idList = JSON.stringify(ids);
    const present = conn.db
      .prepare('SELECT COUNT(*) FROM deltas WHERE job = ? AND window_start = ? AND id IN (SELECT value FROM json_each(?))')
      .pluck()
      .get(job, window.start, idList) as number;
    if (present !== ids.length) return;
    conn.db.prepare('DELETE FROM deltas WHERE id IN (SELECT value FROM json_each(?))').run(idList);
    insertDelta(conn, job, window, now);
  });
}

/** Writes one delta row; returns its id. */
function insertDelta(conn: SqliteConnection, job: string, w: WindowDelta, now: number): number {
  const inserted = conn.db
    .prepare(
      `INSERT INTO deltas (job, window_start, window_end, ${DELTA_COLUMNS}, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(job, w.start, w.end, ...encodeDelta(w.delta), now);
  return Number(inserted.lastInsertRowid);
}
