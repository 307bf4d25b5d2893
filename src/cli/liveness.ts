import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Liveness } from '../state/port.js';

/** Workers on this host are dead once their process is gone; anywhere, once their heartbeat is too old. */
export function localLiveness(timeoutMs: number): Liveness {
  return { host: hostIdentity(), timeoutMs, pidAlive };
}

let identity: string | undefined;

/**
 * This host, unique across machines sharing one PostgreSQL server: its name
 * and, where systemd or D-Bus keep one, the start of its machine id (two
 * containers may both be called `localhost`; a pid means something only on
 * its own host).
 */
export function hostIdentity(): string {
  if (identity !== undefined) return identity;
  identity = hostname();
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (/^[0-9a-f]{32}$/i.test(id)) {
        identity += `/${id.slice(0, 8)}`;
        break;
      }
    } catch {
      // Not on this system: the next file, or the name alone.
    }
  }
  return identity;
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
