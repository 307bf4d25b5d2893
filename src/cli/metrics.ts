import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { UsageError } from '../errors.js';
import type { RunMetrics } from '../model.js';
import { runExposition, type RunExposition } from '../sinks/prometheus.js';
import { formatEndpoint } from '../sources/tcp.js';

/** The --metrics endpoint of a running stream command. */
export interface MetricsServer {
  /** HOST:PORT bound (the free port `--metrics 0` got). */
  readonly address: string;
  readonly exposition: RunExposition;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (the Prometheus text format, read from the run's
 * counters at each scrape) and `GET /healthz` (200 while the run reads, 503
 * once it is stopping) on `endpoint`. Loaded only when --metrics is given.
 * An address that cannot be bound is a usage error, before anything is read.
 */
export async function serveMetrics(endpoint: { host: string; port: number }, job: string, read: () => RunMetrics): Promise<MetricsServer> {
  const exposition = runExposition(job, read);
  const server = createServer((req, res) => {
    answer(req, res, exposition, read).catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${(err as Error).message}\n`);
    });
  });
  const where = formatEndpoint(endpoint.host, endpoint.port);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the port is in use; pick another --metrics port'
          : err.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
              ? 'no such local address'
              : err.message;
      reject(new UsageError(`cannot serve metrics on ${where}: ${why}`));
    });
    server.listen(endpoint.port, endpoint.host, () => resolve());
  });
  const bound = server.address();
  return {
    address: typeof bound === 'object' && bound !== null ? formatEndpoint(bound.address, bound.port) : where,
    exposition,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        // A scraper's keep-alive connection must not hold the process after the run.
        server.closeAllConnections();
      }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, exposition: RunExposition, read: () => RunMetrics): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics or /healthz\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  if (path === '/healthz') {
    const running = read().running;
    res.writeHead(running ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(running ? 'ok\n' : 'stopping\n');
    return;
  }
  const text = await exposition.text();
  res.writeHead(200, { 'content-type': exposition.contentType }).end(text);
}
