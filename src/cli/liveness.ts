import { hostname } from 'node:os';
import type { Liveness } from '../state/port.js';

/** Workers on this host are dead once their process is gone; anywhere, once their heartbeat is too old. */
export function localLiveness(timeoutMs: number): Liveness {
  return { host: hostname(), timeoutMs, pidAlive };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
