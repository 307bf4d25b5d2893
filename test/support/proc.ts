/**
 * What Linux tells about another process and the machine's sockets, through
 * /proc and node:os: bytes read, memory, run state, whether the event loop
 * waits; free and listening TCP ports. Each probe answers null where /proc
 * does not tell.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { sleep, waitFor } from './wait.js';

/** Bytes a process has read through read(2) so far (pipes included), from /proc/PID/io; null if unavailable. */
export function bytesReadBy(pid: number): number | null {
  try {
    const m = /^rchar:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** A field of /proc/PID/status in kB (VmHWM = peak resident set, VmRSS = current); null if unavailable. */
export function procStatusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

/** The state letter of /proc/PID/stat (R running, S sleeping, T stopped, Z zombie...); null if unavailable. */
export function processState(pid: number): string | null {
  try {
    // The command name, in parentheses, may hold spaces: the state follows its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Whether the main thread of a Node process is blocked in epoll_wait, its event loop idle (/proc/PID/wchan); null if unknown. */
export function inEventLoopWait(pid: number): boolean | null {
  try {
    const wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    return wchan === '0' || wchan === '' ? null : wchan.includes('epoll');
  } catch {
    return null;
  }
}

/**
 * Waits until the child has handled all it read: its event loop is back to
 * waiting, seen twice 5 ms apart (a poll between two callbacks is not idle).
 * Where /proc does not tell, a short fixed pause stands in.
 */
export async function waitUntilHandled(child: ChildProcess): Promise<void> {
  const pid = child.pid!;
  if (inEventLoopWait(pid) === null) {
    await sleep(50);
    return;
  }
  await waitFor('the child to handle what it read and wait in its event loop again', async () => {
    if (inEventLoopWait(pid) !== true) return false;
    await sleep(5);
    return inEventLoopWait(pid) === true;
  }, 10_000, 2);
}

/** A TCP port that was free a moment ago: bound on 127.0.0.1 port 0, then released. */
export async function freeTcpPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Local addresses of the sockets listening on TCP `port`, from /proc/net/tcp and tcp6 (e.g. `127.0.0.1`, `0.0.0.0`, `::`, `::1`). */
export function tcpListenAddresses(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || cols[3] !== '0A') continue; // 0A = LISTEN
      const [hexAddress, hexPort] = cols[1]!.split(':') as [string, string];
      if (parseInt(hexPort, 16) !== port) continue;
      found.push(decodeProcAddress(hexAddress));
    }
  }
  return found;
}

/** /proc/net/tcp* addresses are 32-bit words in host (little-endian) order. */
function decodeProcAddress(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(word.slice(b, b + 2), 16));
  }
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.every((b) => b === 0)) return '::';
  if (bytes.slice(0, 15).every((b) => b === 0) && bytes[15] === 1) return '::1';
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':');
}

/** A first non-internal IPv4 address of this machine, or null when it has none. */
export async function externalIPv4(): Promise<string | null> {
  const { networkInterfaces } = await import('node:os');
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) if (info.family === 'IPv4' && !info.internal) return info.address;
  }
  return null;
}
