import { lookup as systemLookup } from 'node:dns';
import { connect, createServer, isIP, type LookupFunction, type Server, type Socket } from 'node:net';
import { UsageError } from '../errors.js';
import type { Connection, NetworkSource, NetworkStats } from './source.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `[HOST:]PORT` (IPv6 in brackets); the host defaults to loopback, never all interfaces.
 * `anyPort` accepts port 0 (a listener then takes a free port).
 */
export function parseEndpoint(text: string, optionName: string, defaultHost: string | null, anyPort = false): Endpoint {
  let host: string | null = defaultHost;
  let portText = text;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (bracket !== null) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else if (text.includes(':')) {
    const at = text.lastIndexOf(':');
    host = text.slice(0, at);
    portText = text.slice(at + 1);
  }
  const port = Number(portText);
  const lowest = anyPort ? 0 : 1;
  if (host === null || host === '' || !/^\d+$/.test(portText) || port < lowest || port > 65535) {
    throw new UsageError(
      `${optionName} expects ${defaultHost === null ? 'HOST:PORT' : '[HOST:]PORT'} with a port from ${lowest} to 65535` +
        `${anyPort ? ' (0 takes a free one)' : ''}, got '${text}'`,
    );
  }
  return { host, port };
}

/** HOST:PORT as people write it: an IPv6 address in brackets. */
export function formatEndpoint(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A FIFO that async iteration can wait on; ends when closed. */
class Queue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private closed = false;

  push(item: T): void {
    if (this.closed) return;
    if (this.waiting !== null) {
      const w = this.waiting;
      this.waiting = null;
      w({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  close(): void {
    this.closed = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      },
    };
  }
}

/**
 * A socket as a connection. Async iteration pauses the socket while a chunk
 * is being handled, so a slow pipeline applies backpressure to the sender
 * instead of buffering without bound. A reset ends it uncleanly.
 */
function asConnection(socket: Socket): Connection {
  let clean = false;
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of socket as AsyncIterable<Buffer>) yield chunk;
      clean = true;
    } catch {
      // ECONNRESET and the like: the partial line in flight is dropped.
    }
  }
  return { chunks: chunks(), closedCleanly: () => clean };
}

/** `--listen`: a TCP server; each client's bytes are framed into lines on their own. */
export function listenSource(endpoint: Endpoint, maxConnections: number): NetworkSource {
  const stats: NetworkStats = { clients: 0, refused: 0 };
  const queue = new Queue<Connection>();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  // The port bound: the one asked for, or the free one `--listen 0` got.
  let port = endpoint.port;
  const where = formatEndpoint(endpoint.host, endpoint.port);
  return {
    get id() {
      return `listen:${endpoint.host}:${port}`;
    },
    get label() {
      return `--listen ${this.address}`;
    },
    get address() {
      const bound = server?.address();
      return typeof bound === 'object' && bound !== null ? formatEndpoint(bound.address, bound.port) : where;
    },
    kind: 'tcp-listen',
    stats,
    start() {
      return new Promise((resolve, reject) => {
        const s = createServer((socket) => {
          sockets.add(socket);
          stats.clients++;
          socket.on('close', () => {
            sockets.delete(socket);
            stats.clients--;
          });
          queue.push(asConnection(socket));
        });
        s.maxConnections = maxConnections;
        // Node drops connections beyond maxConnections itself; count them for status.
        s.on('drop', () => {
          stats.refused++;
        });
        s.once('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'EADDRINUSE') {
            reject(new UsageError(`cannot listen on ${where}: the port is in use; pick another --listen port`));
          } else if (err.code === 'EACCES') {
            reject(new UsageError(`cannot listen on ${where}: permission denied (ports below 1024 need privileges)`));
          } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
            reject(new UsageError(`cannot listen on ${where}: no such local address`));
          } else {
            reject(new UsageError(`cannot listen on ${where}: ${err.message}`));
          }
        });
        s.listen(endpoint.port, endpoint.host, () => {
          const bound = s.address();
          if (typeof bound === 'object' && bound !== null) port = bound.port;
          resolve();
        });
        server = s;
      });
    },
    connections: () => queue,
    stop() {
      server?.close();
      queue.close();
      // Whatever a client sent up to now has been read; a line it had not finished is dropped.
      for (const socket of sockets) socket.destroy();
    },
  };
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * `--connect`: a TCP client, like Flink's socketTextStream. When the server is
 * not there yet or goes away it reconnects with capped exponential backoff,
 * saying so once per outage (and once more if the name stops resolving).
 * A name that does not exist at start is a configuration error, not an
 * outage; a temporary resolver failure is retried. `lookup` is the resolver
 * (tests pass their own).
 */
export function connectSource(
  endpoint: Endpoint,
  note: (line: string) => void,
  lookup: LookupFunction = systemLookup,
): NetworkSource {
  const stats: NetworkStats = { clients: 0, refused: 0 };
  const queue = new Queue<Connection>();
  let stopped = false;
  let current: Socket | null = null;
  let timer: NodeJS.Timeout | null = null;
  let delay = FIRST_RETRY_MS;
  let reported = false;
  let unresolvedReported = false;
  const where = formatEndpoint(endpoint.host, endpoint.port);

  const reportUnresolved = () => {
    if (!unresolvedReported) note(`cannot resolve ${endpoint.host}; retrying`);
    unresolvedReported = true;
    reported = true;
  };

  const attempt = () => {
    if (stopped) return;
    const socket = connect({ port: endpoint.port, host: endpoint.host, lookup });
    current = socket;
    let opened = false;
    let failure: NodeJS.ErrnoException | null = null;
    socket.once('connect', () => {
      opened = true;
      stats.clients = 1;
      delay = FIRST_RETRY_MS;
      if (reported) note(`connected to ${where} again`);
      reported = false;
      unresolvedReported = false;
      queue.push(asConnection(socket));
    });
    socket.once('close', () => {
      stats.clients = 0;
      current = null;
      if (stopped) return;
      if (!opened && failure !== null && isResolverError(failure)) {
        reportUnresolved();
      } else if (!reported) {
        note(opened ? `connection to ${where} closed; reconnecting` : `cannot connect to ${where}; retrying`);
        reported = true;
      }
      timer = setTimeout(attempt, delay);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    });
    // Errors end in 'close', which schedules the retry.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      failure = err;
    });
  };

  return {
    id: `connect:${endpoint.host}:${endpoint.port}`,
    label: `--connect ${where}`,
    address: where,
    kind: 'tcp-connect',
    stats,
    async start() {
      if (isIP(endpoint.host) === 0) {
        const failure = await new Promise<NodeJS.ErrnoException | null>((done) =>
          lookup(endpoint.host, {}, (err) => done(err)),
        );
        // A name that does not exist will not start to; a resolver that is down may come back.
        if (failure?.code === 'ENOTFOUND') {
          throw new UsageError(`cannot resolve ${endpoint.host} (--connect ${where}): no such host`);
        }
        if (failure !== null) reportUnresolved();
      }
      attempt();
    },
    connections: () => queue,
    stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      current?.destroy();
      queue.close();
    },
  };
}

/** A failure to turn the name into an address (ENOTFOUND, EAI_AGAIN, ...), not to reach it. */
function isResolverError(err: NodeJS.ErrnoException): boolean {
  return err.syscall === 'getaddrinfo' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN';
}
