import { FencedError } from '../../errors.js';
import { healthOf } from '../liveness.js';
import type { Liveness, NewWorker, WorkerBeat, WorkerInfo } from '../port.js';
import { SERVER_NOW, type Client, type PgConnection, type Queryable } from './connection.js';

type WorkerFacts = Omit<WorkerInfo, 'health'>;

/**
 * Heartbeats are stamped with the server's clock (hosts' clocks differ) and
 * read back as ages, which are placed on the caller's clock: `now - age`.
 */
const SELECT_WORKERS = `SELECT worker_id AS id, job, pid, host, ${SERVER_NOW} - started_at AS "startedAge",
  ${SERVER_NOW} - heartbeat_at AS "heartbeatAge", state, watermark, idle FROM workers`;

type WorkerRow = Omit<WorkerFacts, 'startedAt' | 'heartbeatAt'> & { startedAge: number; heartbeatAge: number };

export async function registerWorker(conn: PgConnection, worker: NewWorker): Promise<void> {
  await conn.query(
    `INSERT INTO workers (worker_id, job, pid, host, started_at, heartbeat_at, state, watermark)
     VALUES ($1, $2, $3, $4, ${SERVER_NOW}, ${SERVER_NOW}, 'running', $5)`,
    [worker.id, worker.job, worker.pid, worker.host, worker.watermark],
  );
}

/** Writes a heartbeat inside the caller's transaction; FencedError when the worker is no longer running. */
export async function beat(client: Client, worker: WorkerBeat): Promise<void> {
  const { rowCount } = await client.query(
    `UPDATE workers SET heartbeat_at = ${SERVER_NOW}, watermark = $1, idle = $2 WHERE worker_id = $3 AND state = 'running'`,
    [worker.watermark, worker.idle, worker.id],
  );
  if (rowCount === 0) throw new FencedError(`worker ${worker.id} was declared dead by the other workers (no heartbeat in time)`);
}

export async function finishWorker(conn: PgConnection, id: string): Promise<void> {
  await conn.query(
    `UPDATE workers SET state = 'finished', ended_at = ${SERVER_NOW}, heartbeat_at = ${SERVER_NOW} WHERE worker_id = $1 AND state = 'running'`,
    [id],
  );
}

/** Whether the worker still has a row (a restore drops them all), whatever its state. */
export async function isRegistered(client: Client, id: string): Promise<boolean> {
  return ((await client.query('SELECT 1 FROM workers WHERE worker_id = $1', [id])).rowCount ?? 0) > 0;
}

/** Every worker, oldest first, with its health by `liveness`. */
export async function listWorkers(query: Queryable, liveness: Liveness, now: number): Promise<WorkerInfo[]> {
  const { rows } = await query.query<WorkerRow>(`${SELECT_WORKERS} ORDER BY started_at, worker_id`);
  return rows.map((r) => withHealth(placeOnClock(r, now), liveness, now));
}

export async function runningWorkers(client: Client, job: string, now: number): Promise<WorkerFacts[]> {
  const { rows } = await client.query<WorkerRow>(`${SELECT_WORKERS} WHERE job = $1 AND state = 'running'`, [job]);
  return rows.map((r) => placeOnClock(r, now));
}

export async function markDead(client: Client, id: string): Promise<void> {
  await client.query(`UPDATE workers SET state = 'dead', ended_at = ${SERVER_NOW} WHERE worker_id = $1`, [id]);
}

function placeOnClock({ startedAge, heartbeatAge, ...rest }: WorkerRow, now: number): WorkerFacts {
  return { ...rest, startedAt: now - startedAge, heartbeatAt: now - heartbeatAge };
}

function withHealth(w: WorkerFacts, liveness: Liveness, now: number): WorkerInfo {
  return { ...w, health: healthOf(w, liveness, now) };
}
