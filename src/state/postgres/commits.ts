import { StaleBatchError } from '../../errors.js';
import { partialTablesOf } from '../../reducers/partial-table.js';
import { encodeDelta } from '../codec.js';
import type { CommitBatch, CommitOutcome, DedupeRecords, SourceProgress, WindowDelta } from '../port.js';
import type { Client, PgConnection } from './connection.js';
import { beat, isRegistered } from './workers.js';

/** Rows per multi-row INSERT: 10 parameters each stays far below PostgreSQL's 65535. */
const INSERT_CHUNK = 1000;

/**
 * Takes the job's row lock: every writer of a job (commits, finalization,
 * collapsing) holds it to the end of its transaction, so a finalization
 * never deletes deltas committed after it read them.
 */
export async function lockJob(client: Client, job: string): Promise<void> {
  await client.query('SELECT 1 FROM jobs WHERE job = $1 FOR UPDATE', [job]);
}

/**
 * Applies one batch in one transaction: the window deltas, the source offsets
 * they came from (compare-and-set: a batch starting anywhere but the stored
 * offset is a replay, refused), the counters and the worker's heartbeat.
 */
export async function commitBatch(conn: PgConnection, batch: CommitBatch): Promise<CommitOutcome> {
  return conn.transaction(async (client) => {
    await lockJob(client, batch.job);
    if (batch.worker !== undefined) await beat(client, batch.worker);
    for (const s of batch.sources) await advanceSource(client, batch, s);
    let duplicates = batch.duplicates ?? 0;
    let records = batch.records;
    let windows = batch.windows;
    if (batch.dedupe !== undefined) {
      const accepted = await acceptNewIds(client, batch.job, batch.dedupe, batch.now);
      const known = accepted.length - accepted.reduce((n, a) => n + a, 0);
      duplicates += known;
      records -= known;
      windows = [...windows, ...acceptedDeltas(batch.dedupe, accepted)];
    }
    windows = windows.filter((w) => w.delta.size > 0);
    const finals = await finalStarts(client, batch.job, windows);
    let lateRecords = 0;
    const live: WindowDelta[] = [];
    for (const w of windows) {
      if (!finals.has(w.start)) live.push(w);
      else for (let i = 0; i < w.delta.size; i++) lateRecords += w.delta.counts[i]!;
    }
    const deltaIds = await insertDeltas(client, batch.job, live, batch.now);
    if (records !== 0 || batch.rejected !== 0 || batch.late !== 0 || duplicates !== 0) {
      await client.query(
        `UPDATE jobs SET records = records + $1, rejected = rejected + $2, late = late + $3, duplicates = duplicates + $4 WHERE job = $5`,
        [records - lateRecords, batch.rejected, batch.late + lateRecords, duplicates, batch.job],
      );
    }
    return { lateRecords, duplicates, deltaIds };
  });
}

/**
 * Moves a source's offset from the batch's `fromOffset` to its `toOffset`,
 * compare-and-set: no row changed means another process applied this batch.
 */
async function advanceSource(client: Client, batch: CommitBatch, s: SourceProgress): Promise<void> {
  const values = [batch.job, s.source, s.toOffset, s.lines, s.maxEventTime, s.identity ?? null, s.clients ?? 0, s.refused ?? 0, batch.now];
  const updated = await client.query(
    `UPDATE sources SET "offset" = $3, lines = lines + $4, max_event_time = $5, identity = $6, clients = $7, refused = $8, updated_at = $9
     WHERE job = $1 AND source = $2 AND "offset" = $10`,
    [...values, s.fromOffset],
  );
  if (updated.rowCount === 1) return;
  if (s.fromOffset === 0) {
    const inserted = await client.query(
      `INSERT INTO sources (job, source, kind, "offset", lines, max_event_time, identity, clients, refused, updated_at)
       VALUES ($1, $2, $10, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (job, source) DO NOTHING`,
      [...values, s.kind],
    );
    if (inserted.rowCount === 1) return;
  }
  const { rows } = await client.query<{ offset: number }>(`SELECT "offset" FROM sources WHERE job = $1 AND source = $2`, [batch.job, s.source]);
  throw new StaleBatchError(
    `source ${s.source} of job '${batch.job}' is at offset ${rows[0]?.offset ?? 0} in the database, ` +
      `but this batch starts at ${s.fromOffset}: another process applied it`,
  );
}

/** Starts of the given windows that are final already: their records are late. */
async function finalStarts(client: Client, job: string, windows: readonly WindowDelta[]): Promise<Set<number>> {
  if (windows.length === 0) return new Set();
  const { rows } = await client.query<{ window_start: number }>(
    'SELECT window_start FROM results WHERE job = $1 AND final AND window_start = ANY($2::bigint[])',
    [job, windows.map((w) => w.start)],
  );
  return new Set(rows.map((r) => r.window_start));
}

/**
 * Marks each id new (1) or already applied and unexpired (0), and records the
 * new ones: one statement for the whole batch, never one per record.
 */
async function acceptNewIds(client: Client, job: string, dedupe: DedupeRecords, now: number): Promise<Uint8Array> {
  const accepted = new Uint8Array(dedupe.ids.length);
  const firstIndex = new Map<string, number>();
  dedupe.ids.forEach((id, i) => {
    if (!firstIndex.has(id)) firstIndex.set(id, i);
  });
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO dedupe (job, id, expires_at) SELECT $1, unnest($2::text[]), $3
     ON CONFLICT (job, id) DO UPDATE SET expires_at = excluded.expires_at WHERE dedupe.expires_at <= $4
     RETURNING id`,
    [job, [...firstIndex.keys()], dedupe.expiresAt, now],
  );
  for (const { id } of rows) accepted[firstIndex.get(id)!] = 1;
  return accepted;
}

function acceptedDeltas(dedupe: DedupeRecords, accepted: Uint8Array): WindowDelta[] {
  return [...partialTablesOf(dedupe, accepted)].map(([start, delta]) => ({ start, end: start + dedupe.windowMs, delta }));
}

/** Writes one delta row per window, in multi-row INSERTs; returns each window's new row id. */
async function insertDeltas(client: Client, job: string, windows: readonly WindowDelta[], now: number): Promise<Map<number, number>> {
  const ids = new Map<number, number>();
  for (let from = 0; from < windows.length; from += INSERT_CHUNK) {
    const chunk = windows.slice(from, from + INSERT_CHUNK);
    const params: unknown[] = [job, now];
    const tuples = chunk.map((w) => {
      const base = params.length;
      params.push(w.start, w.end, ...encodeDelta(w.delta));
      return `($1, ${Array.from({ length: 10 }, (_, i) => `$${base + i + 1}`).join(', ')}, $2)`;
    });
    const { rows } = await client.query<{ id: number; window_start: number }>(
      `INSERT INTO deltas (job, window_start, window_end, key_count, keys, counts, sums, sum_lows, mins, maxs, sketches, committed_at)
       VALUES ${tuples.join(', ')} RETURNING id, window_start`,
      params,
    );
    for (const r of rows) ids.set(r.window_start, r.id);
  }
  return ids;
}

/** Replaces a worker's own deltas of an open window by one row, their sum (see the port). */
export async function collapseDeltas(
  conn: PgConnection,
  job: string,
  window: WindowDelta,
  workerId: string,
  ids: readonly number[],
  now: number,
): Promise<void> {
  await conn.transaction(async (client) => {
    await lockJob(client, job);
    if (!(await isRegistered(client, workerId))) return;
    const { rows } = await client.query<{ present: number }>(
      'SELECT COUNT(*) AS present FROM deltas WHERE job = $1 AND window_start = $2 AND id = ANY($3::bigint[])',
      [job, window.start, ids],
    );
    if (rows[0]!.present !== ids.length) return;
    await client.query('DELETE FROM deltas WHERE id = ANY($1::bigint[])', [ids]);
    await insertDeltas(client, job, [window], now);
  });
}
