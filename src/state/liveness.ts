import type { Liveness, WorkerInfo } from './port.js';

type LivenessFacts = Pick<WorkerInfo, 'state' | 'heartbeatAt' | 'host' | 'pid'>;

/**
 * The one liveness rule: a worker is live while it is running, its last
 * heartbeat is within the timeout, and (on this host) its process exists.
 */
export function isLive(w: LivenessFacts, liveness: Liveness, now: number): boolean {
  return (
    w.state === 'running' && now - w.heartbeatAt <= liveness.timeoutMs && (w.host !== liveness.host || liveness.pidAlive(w.pid))
  );
}

export function healthOf(w: LivenessFacts, liveness: Liveness, now: number): WorkerInfo['health'] {
  if (w.state !== 'running') return w.state;
  return isLive(w, liveness, now) ? 'alive' : 'dead';
}

/**
 * How far windows may be finalized: the smallest watermark among live,
 * non-idle workers (a worker without one holds everything back). When every
 * live worker is idle, the furthest of them; with none live, everything.
 */
export function finalizationLimit(live: ReadonlyArray<Pick<WorkerInfo, 'watermark' | 'idle'>>): number {
  if (live.length === 0) return Number.MAX_SAFE_INTEGER;
  const active = live.filter((w) => !w.idle);
  const marks = (active.length > 0 ? active : live).map((w) => w.watermark ?? -Infinity);
  return active.length > 0 ? Math.min(...marks) : Math.max(...marks);
}
