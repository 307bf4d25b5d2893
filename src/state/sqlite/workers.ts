import { FencedError } from '../../errors.js';
import { healthOf } from '../liveness.js';
import type { Liveness, NewWorker, WorkerBeat, WorkerInfo } from '../port.js';
import type { SqliteConnection } from './connection.js';

type WorkerFacts = Omit<WorkerInfo, 'health'>;

const SELECT_WORKERS = `SELECT worker_id AS id, job, pid, host, started_at AS startedAt, heartbeat_at AS heartbeatAt,
  state, watermark, idle FROM workers`;

export function registerWorker(conn: SqliteConnection, worker: NewWorker, now: number): void {
  conn.write(() => {
    conn.db
      .prepare(
        `INSERT INTO workers (worker_id, job, pid, host, started_at, heartbeat_at, state, watermark)
         VALUES (?, ?, ?, ?, ?, ?, 'running', ?)`,
      )
      .run(worker.id, worker.job, worker.pid, worker.host, now, now, worker.watermark);
  });
}

/** Writes a heartbeat inside the caller's transaction; FencedError when the worker is no longer running. */
export function beat(conn: SqliteConnection, worker: WorkerBeat, now: number): void {
  const info = conn.db
    .prepare(`UPDATE workers SET heartbeat_at = ?, watermark = ?, idle = ? WHERE worker_id = ? AND state = 'running'`)
    .run(now, worker.watermark, worker.idle ? 1 : 0, worker.id);
  if (info.changes === 0) {
    throw new FencedError(`worker ${worker.id} was declared dead by the other workers (no heartbeat in time)`);
  }
}

export function finishWorker(conn: SqliteConnection, id: string, now: number): void {
  conn.write(() => {
    conn.db
      .prepare(`UPDATE workers SET state = 'finished', ended_at = ?, heartbeat_at = ? WHERE worker_id = ? AND state = 'running'`)
      .run(now, now, id);
  });
}

/** Whether the worker still has a row (a restore drops them all), whatever its state. */
export function isRegistered(conn: SqliteConnection, id: string): boolean {
  return conn.db.prepare('SELECT 1 FROM workers WHERE worker_id = ?').get(id) !== undefined;
}

/** Every worker (of one job, or all), oldest first, with its health by `liveness`. */
export function listWorkers(conn: SqliteConnection, liveness: Liveness, now: number): WorkerInfo[] {
  return readWorkers(conn, `${SELECT_WORKERS} ORDER BY started_at, worker_id`).map((w) => ({ ...w, health: healthOf(w, liveness, now) }));
}

export function runningWorkers(conn: SqliteConnection, job: string): WorkerFacts[] {
  return readWorkers(conn, `${SELECT_WORKERS} WHERE job = ? AND state = 'running'`, job);
}

export function markDead(conn: SqliteConnection, id: string, now: number): void {
  conn.db.prepare(`UPDATE workers SET state = 'dead', ended_at = ? WHERE worker_id = ?`).run(now, id);
}

function readWorkers(conn: SqliteConnection, sql: string, ...params: unknown[]): WorkerFacts[] {
  return (conn.db.prepare(sql).all(...params) as Array<Omit<WorkerFacts, 'idle'> & { idle: number }>).map((w) => ({ ...w, idle: w.idle === 1 }));
}
