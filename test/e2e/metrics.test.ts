/**
 * --metrics: the real CLI serves /metrics and /healthz while it runs; the
 * test scrapes them with a real HTTP client (fetch) and reads the exposition
 * with a strict Prometheus text parser (test/support/prometheus.ts). What it
 * sends is known, so the counters are checked exactly.
 */
import { createServer, type AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { appendFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue, type Family } from '../support/prometheus.js';
import { holdCommits, usePgProbes } from '../support/pg.js';
import { collect, runCli, spawnCli, textOf, useTempDir, waitFor, watchRows, type CliResult } from './helpers.js';

const tmp = useTempDir('metrics');
const pgs = usePgProbes();

/** Waits for `statesync: <what> on HOST:PORT` on stderr; answers HOST:PORT. */
async function announced(what: string, stderr: () => string, done: Promise<CliResult>): Promise<string> {
  return Promise.race([
    waitFor(`the "${what} on" line`, () => new RegExp(`^statesync: ${what} on (\\S+)$`, 'm').exec(stderr())?.[1]),
    done.then((r) => {
      throw new Error(`statesync exited ${r.exitCode} early: ${r.stderr}`);
    }),
  ]);
}

async function scrape(address: string): Promise<{ families: Map<string, Family>; contentType: string | null }> {
  const response = await fetch(`http://${address}/metrics`);
  expect(response.status).toBe(200);
  return { families: parsePrometheusText(await response.text()), contentType: response.headers.get('content-type') };
}

/** Scrapes until `ready` holds of the exposition; answers that one. */
async function scrapeUntil(address: string, what: string, ready: (f: Map<string, Family>) => boolean): Promise<Map<string, Family>> {
  return waitFor(what, async () => {
    const { families } = await scrape(address);
    return ready(families) ? families : undefined;
  }, 20_000, 50);
}

function openClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

const JOB = { job_name: 'web' };

describe('--metrics', () => {
  it('serves /healthz and /metrics of a listener: records, bytes, rejections, connections, commits as sent; the format parses', async () => {
    const db = tmp.newDb();
    const child = spawnCli([
      'count', '--listen', '0', '--metrics', '0', '--db', db, '--job', 'web', '--window', '1h', '--commit-interval', '100ms',
      '--max-connections', '2',
    ]);
    const done = collect(child, 60_000);
    const stderr = textOf(child.stderr);
    const metrics = await announced('metrics', stderr, done);
    expect(metrics).toMatch(/^127\.0\.0\.1:\d+$/);
    const listen = await announced('listening', stderr, done);
    const port = Number(listen.split(':')[1]);

    const health = await fetch(`http://${metrics}/healthz`);
    expect([health.status, await health.text()]).toEqual([200, 'ok\n']);
    expect((await fetch(`http://${metrics}/nothing`)).status).toBe(404);
    expect((await fetch(`http://${metrics}/metrics`, { method: 'POST' })).status).toBe(405);

    const first = await scrape(metrics);
    expect(first.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    // Nothing sent yet (a listener commits its client counts every interval even so).
    expect(sampleValue(first.families, 'statesync_records_total', JOB)).toBe(0);
    expect(sampleValue(first.families, 'statesync_publications_total', { ...JOB, final: 'true' })).toBe(0);

    // Two clients; the third is refused (--max-connections 2). One line holds a NUL byte: rejected.
    const a = await openClient(port);
    const b = await openClient(port);
    const lines = {
      a: 'to be or not to be\nthat is the question\n',
      b: 'whether tis nobler\nin\0the mind\nto suffer\n',
    };
    a.write(lines.a);
    b.write(lines.b);
    const words = 6 + 4 + 3 + 2; // b's NUL line is rejected whole
    const bytes = Buffer.byteLength(lines.a) + Buffer.byteLength(lines.b);
    const refused = connect({ port, host: '127.0.0.1' });
    refused.on('error', () => undefined);

    const families = await scrapeUntil(metrics, 'every record counted and the refused client', (f) =>
      sampleValue(f, 'statesync_records_total', JOB) === words &&
      sampleValue(f, 'statesync_connections_refused_total', JOB) === 1 &&
      (sampleValue(f, 'statesync_commits_total', JOB) ?? 0) > 0,
    );
    const source = `listen:127.0.0.1:${port}`;
    expect(sampleValue(families, 'statesync_records_total', { ...JOB, source })).toBe(words);
    expect(sampleValue(families, 'statesync_bytes_total', { ...JOB, source })).toBe(bytes);
    expect(sampleValue(families, 'statesync_rejected_total', { ...JOB, reason: 'nul_byte' })).toBe(1);
    expect(sampleValue(families, 'statesync_rejected_total', { ...JOB, reason: 'invalid_utf_8' })).toBe(0);
    expect(sampleValue(families, 'statesync_late_total', JOB)).toBe(0);
    expect(sampleValue(families, 'statesync_duplicates_total', JOB)).toBe(0);
    expect(sampleValue(families, 'statesync_connections', { ...JOB, source })).toBe(2);
    expect(sampleValue(families, 'statesync_open_windows', JOB)).toBe(1);
    const watermark = sampleValue(families, 'statesync_watermark_seconds', JOB)!;
    expect(Math.abs(watermark - Date.now() / 1000)).toBeLessThan(30);
    // The histogram observes each commit: its count is the commits counter.
    const commits = sampleValue(families, 'statesync_commits_total', JOB)!;
    expect(sampleValue(families, 'statesync_commit_duration_seconds_count', JOB)).toBe(commits);
    expect(families.get('statesync_commit_duration_seconds')!.type).toBe('histogram');
    for (const name of ['statesync_records_total', 'statesync_bytes_total', 'statesync_rejected_total', 'statesync_commits_total']) {
      expect(families.get(name)!.type, name).toBe('counter');
    }
    for (const name of ['statesync_watermark_seconds', 'statesync_open_windows', 'statesync_connections']) {
      expect(families.get(name)!.type, name).toBe('gauge');
    }
    // What status says was committed is what the metrics count.
    const committed = await runCli(['status', '--db', db, '--format', 'json']);
    expect(JSON.parse(committed.stdout).jobs[0].records).toBe(words);

    a.end();
    b.end();
    child.kill('SIGTERM');
    const result = await done;
    expect(result.exitCode).toBe(143);
    // Closed with the run: nothing listens there any more.
    await expect(fetch(`http://${metrics}/healthz`)).rejects.toThrow();
  });

  it('counts what counting threads count: a followed file, --threads 2, and publications as watch sees them', async () => {
    const db = tmp.newDb();
    const file = tmp.path('grow.txt');
    // Over one 256 KB chunk, so the threads start.
    const line = 'alpha beta gamma delta epsilon\n';
    const first = line.repeat(20_000);
    writeFileSync(file, first);
    const child = spawnCli([
      'count', '--follow', file, '--threads', '2', '--metrics', '0', '--db', db, '--job', 'web', '--window', '1s',
      '--commit-interval', '100ms', '--format', 'json',
    ]);
    const done = collect(child, 60_000);
    const metrics = await announced('metrics', textOf(child.stderr), done);
    const source = (f: Map<string, Family>) => families(f, 'statesync_records_total')[0]?.labels.source;
    let f = await scrapeUntil(metrics, 'the first part counted', (x) => sampleValue(x, 'statesync_records_total', JOB) === 100_000);
    expect(sampleValue(f, 'statesync_bytes_total', JOB)).toBe(Buffer.byteLength(first));
    appendFileSync(file, line.repeat(10_000));
    f = await scrapeUntil(metrics, 'the appended part counted', (x) => sampleValue(x, 'statesync_records_total', JOB) === 150_000);
    expect(source(f)).toContain('grow.txt');
    expect(sampleValue(f, 'statesync_connections', JOB)).toBeUndefined();

    // 1 s windows close while it runs: this lone worker publishes each, final.
    f = await scrapeUntil(metrics, 'a final publication', (x) => (sampleValue(x, 'statesync_publications_total', { ...JOB, final: 'true' }) ?? 0) > 0);
    const before = sampleValue(f, 'statesync_publications_total', { ...JOB, final: 'true' })!;
    const finals = new Set((await watchRows(db, ['--final'])).map((r) => r.seq)).size;
    const after = sampleValue((await scrape(metrics)).families, 'statesync_publications_total', { ...JOB, final: 'true' })!;
    expect(before).toBeLessThanOrEqual(finals);
    expect(finals).toBeLessThanOrEqual(after);

    child.kill('SIGINT');
    expect((await done).exitCode).toBe(130);
  });

  it('answers /healthz with 503 while a stopping run waits for its last commit, and nothing read is lost', async () => {
    // PostgreSQL, whose commits leave the event loop free: a commit held at COMMIT keeps the run stopping.
    const db = await pgs.fresh();
    const child = spawnCli(['count', '--metrics', '0', '--db', db.url, '--window', '1h', '--commit-interval', '50ms']);
    const done = collect(child, 30_000);
    const metrics = await announced('metrics', textOf(child.stderr), done);
    const committed = async () => (await db.peek<{ records: number }>('SELECT records FROM statesync.jobs'))?.[0]?.records;
    child.stdin.write('a b c\n');
    await waitFor('the first commit', async () => (await committed()) === 3);
    const gate = await holdCommits(db.url, 'jobs');
    try {
      child.stdin.write('d e\n');
      await waitFor('a commit held at COMMIT', async () => (await db.sessions()).some((s) => s.query === 'COMMIT' && s.waitEventType === 'Lock'));
      const health = async () => {
        const response = await fetch(`http://${metrics}/healthz`);
        return [response.status, await response.text()];
      };
      expect(await health()).toEqual([200, 'ok\n']);
      child.kill('SIGTERM');
      await waitFor('/healthz to say stopping', async () => (await health())[0] === 503, 5_000, 20);
      expect(await health()).toEqual([503, 'stopping\n']);
      expect(child.exitCode).toBe(null);
    } finally {
      await gate.remove();
    }
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(143);
    expect(await committed()).toBe(5);
    // Closed with the run: nothing listens there any more.
    await expect(fetch(`http://${metrics}/healthz`)).rejects.toThrow();
  });

  it('refuses a port in use (exit 2, before reading) and prints nothing about metrics with --quiet', async () => {
    const blocker = createServer();
    await new Promise<void>((ready) => blocker.listen(0, '127.0.0.1', () => ready()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const busy = await runCli(['count', '--metrics', String(port)], { input: 'a b\n' });
      expect(busy.exitCode).toBe(2);
      expect(busy.stderr).toBe(`statesync: cannot serve metrics on 127.0.0.1:${port}: the port is in use; pick another --metrics port\n`);
      expect(busy.stdout).toBe('');
    } finally {
      blocker.close();
    }
    const quiet = await runCli(['count', '--metrics', '0', '--quiet'], { input: 'a b\n' });
    expect([quiet.exitCode, quiet.stderr, quiet.stdout]).toEqual([0, '', '']);
  });
});

function families(f: Map<string, Family>, name: string) {
  return f.get(name)?.samples ?? [];
}
