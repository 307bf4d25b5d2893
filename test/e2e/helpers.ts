/**
 * Shared helpers for the end-to-end tests: they spawn the real entry point
 * (bin/statesync.js over the bundled dist/statesync.mjs) as child processes, the way a
 * user's shell would, and read results back through the CLI itself.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binPath = join(repoRoot, 'bin', 'statesync.js');

if (!existsSync(join(repoRoot, 'dist', 'statesync.mjs'))) {
  throw new Error(`${repoRoot}/dist is missing: run 'npm run build' before the end-to-end tests`);
}

export interface CliResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code, or null when the process was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Extra environment (STATESYNC_NOW etc.); the inherited STATESYNC_* variables are dropped first. */
  readonly env?: Readonly<Record<string, string>>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts `node bin/statesync.js ...args` with all three stdio streams as pipes. */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): ChildProcessWithoutNullStreams {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of Object.keys(env)) if (name.startsWith('STATESYNC_')) delete env[name];
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [binPath, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  // A child that exits without reading all of stdin makes our writes fail with EPIPE; that is its business.
  child.stdin.on('error', () => undefined);
  return child;
}

/** SIGKILLs (by handle, so by pid) every child this module started that is still running; for afterEach. */
export function killLeftoverChildren(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * Collects a spawned child's output until it exits. If it is still running
 * after `timeoutMs`, it is killed and the promise rejects with what it printed.
 */
export function collect(child: ChildProcessWithoutNullStreams, timeoutMs = 30_000): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer | string) => out.push(typeof b === 'string' ? Buffer.from(b) : b));
  child.stderr.on('data', (b: Buffer | string) => err.push(typeof b === 'string' ? Buffer.from(b) : b));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `statesync ${child.spawnargs.slice(2).join(' ')} did not exit within ${timeoutMs} ms; ` +
            `stderr: ${Buffer.concat(err).toString('utf8')}`,
        ),
      );
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolvePromise({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode,
        signal,
      });
    });
  });
}

/** Runs the CLI to completion, feeding `input` (if any) on stdin and closing it. */
export async function runCli(
  args: readonly string[],
  options: SpawnOptions & { readonly input?: string | Buffer; readonly timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawnCli(args, options);
  const done = collect(child, options.timeoutMs);
  if (options.input !== undefined) child.stdin.end(options.input);
  else child.stdin.end();
  return done;
}

/** Runs the CLI and fails with its stderr unless it exits 0. */
export async function runCliOk(args: readonly string[], options: SpawnOptions = {}): Promise<CliResult> {
  const result = await runCli(args, options);
  if (result.exitCode !== 0) {
    throw new Error(`statesync ${args.join(' ')} exited ${result.exitCode ?? result.signal}: ${result.stderr}`);
  }
  return result;
}

export interface JsonRow {
  readonly job: string;
  readonly window_start: string;
  readonly window_end: string;
  readonly key: string;
  readonly value: number;
  /** `query`: every row's window state. */
  readonly state?: 'open' | 'final';
  /** `watch`: the publication sequence number of the row's window. */
  readonly seq?: number;
}

export function parseJsonLines(text: string): JsonRow[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as JsonRow);
}

/** Per-key totals summed over every window (finalized and open) that `query --format json` prints. */
export async function queryTotals(db: string): Promise<Map<string, number>> {
  const { stdout } = await runCliOk(['query', '--db', db, '--format', 'json']);
  return sumByKey(parseJsonLines(stdout));
}

export function sumByKey(rows: readonly JsonRow[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.key, (totals.get(row.key) ?? 0) + row.value);
  return totals;
}

/** The part of `status --format json` the tests read. */
export interface StatusJson {
  readonly jobs: ReadonlyArray<{
    readonly job: string;
    readonly records: number;
    readonly rejected: number;
    readonly late: number;
    readonly open_windows: number;
    readonly provisional_windows: number;
    readonly finalized_windows: number;
  }>;
  readonly sources: ReadonlyArray<{ readonly job: string; readonly source: string; readonly kind: string; readonly offset: number }>;
}

export async function status(db: string): Promise<StatusJson> {
  const { stdout } = await runCliOk(['status', '--db', db, '--format', 'json']);
  return JSON.parse(stdout) as StatusJson;
}

/** The ground truth for the default word key: tokens between runs of ASCII whitespace, as awk splits fields. */
export function wordCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.split(/[ \t\n\r\v\f]+/)) {
    if (word.length > 0) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return counts;
}

/** Adds `from` to `into`, `times` over; zero times adds nothing (no key with a count of 0). */
export function addCounts(into: Map<string, number>, from: ReadonlyMap<string, number>, times = 1): Map<string, number> {
  if (times > 0) for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v * times);
  return into;
}

/** Words in buf[0, end), split on the same ASCII whitespace as wordCounts. */
export function wordsBefore(buf: Buffer, end: number): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < end; i++) {
    const c = buf[i]!;
    const space = c === 32 || (c >= 9 && c <= 13);
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}

export function total(counts: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const n of counts.values()) sum += n;
  return sum;
}

/** Human-readable differences between two count maps (at most `limit`), empty when equal. */
export function countDifferences(actual: ReadonlyMap<string, number>, expected: ReadonlyMap<string, number>, limit = 10): string[] {
  const diffs: string[] = [];
  for (const key of new Set([...expected.keys(), ...actual.keys()])) {
    const a = actual.get(key);
    const e = expected.get(key);
    if (a !== e) diffs.push(`${JSON.stringify(key)}: got ${a ?? 'nothing'}, expected ${e ?? 'nothing'}`);
    if (diffs.length >= limit) break;
  }
  return diffs;
}

export { seededRandom } from '../support/prng.js';

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Polls `check` every `everyMs` until it returns a value other than undefined; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 10_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

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

/** A fresh temporary directory; the returned function removes it. */
export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `statesync-e2e-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Runs `read` on a read-only connection to the database; undefined while the
 * file or its schema does not exist yet, or the database is momentarily busy.
 */
export function peekDb<T>(path: string, read: (db: SqliteDatabase) => T): T | undefined {
  if (!existsSync(path)) return undefined;
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    return read(db);
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/**
 * Waits until a child started with `--db` is blocked reading stdin: its job
 * row exists and it has stopped reading anything else. Returns its read(2)
 * byte count at that point (null where /proc is not available).
 */
export async function waitUntilIdle(child: ChildProcessWithoutNullStreams, db: string): Promise<number | null> {
  await waitFor('the job to be registered', () => peekDb(db, (d) => d.prepare('SELECT job FROM jobs').get() ?? undefined));
  let last = bytesReadBy(child.pid!);
  if (last === null) {
    await sleep(500);
    return null;
  }
  for (let stable = 0; stable < 3; ) {
    await sleep(50);
    const now = bytesReadBy(child.pid!);
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** Waits until the child has read `bytes` more than `baseline` (or a fixed pause where /proc is not available). */
export async function waitUntilRead(child: ChildProcessWithoutNullStreams, baseline: number | null, bytes: number): Promise<void> {
  if (baseline === null) {
    await sleep(500);
    return;
  }
  await waitFor(`the child to read ${bytes} bytes of stdin`, () => {
    const now = bytesReadBy(child.pid!);
    return now !== null && now - baseline >= bytes ? true : undefined;
  });
  // The chunk is handled synchronously right after read(2) returns; leave it a moment anyway.
  await sleep(50);
}

// ---------------------------------------------------------------------------
// Cooperating workers on one database (workers*.test.ts)
// ---------------------------------------------------------------------------

/** A worker row as `status --format json` reports it. */
export interface WorkerStatusJson {
  readonly id: string;
  readonly job: string;
  readonly pid: number;
  readonly host: string;
  /** ISO-8601 UTC, like every time in status JSON. */
  readonly started_at: string;
  readonly heartbeat_at: string;
  readonly state: 'running' | 'finished' | 'dead';
  readonly watermark: string | null;
  readonly idle: boolean;
  readonly health: 'alive' | 'finished' | 'dead';
}

/** `status --format json` with the cooperation fields (workers, duplicates, published sequence). */
export interface ClusterStatusJson {
  readonly published_seq: number;
  readonly jobs: ReadonlyArray<StatusJson['jobs'][number] & { readonly duplicates: number }>;
  readonly sources: StatusJson['sources'];
  readonly open_windows: ReadonlyArray<{ readonly job: string; readonly window_start: string; readonly window_end: string }>;
  readonly workers: readonly WorkerStatusJson[];
}

export async function clusterStatus(db: string, workerTimeout?: string): Promise<ClusterStatusJson> {
  const args = ['status', '--db', db, '--format', 'json'];
  if (workerTimeout !== undefined) args.push('--worker-timeout', workerTimeout);
  const { stdout } = await runCliOk(args);
  return JSON.parse(stdout) as ClusterStatusJson;
}

/** `watch --db DB --format json` (no --follow) parsed; `extra` adds --job, --from etc. */
export async function watchRows(db: string, extra: readonly string[] = []): Promise<JsonRow[]> {
  const { stdout } = await runCliOk(['watch', '--db', db, '--format', 'json', ...extra]);
  return parseJsonLines(stdout);
}

/** One row of the publication log, read straight from the `results` table. */
export interface PublishedWindow {
  readonly seq: number;
  readonly job: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly finalized_at: number;
  readonly row_count: number;
  readonly rows: string;
}

/** The whole publication log in seq order (read-only connection; retried while the database is busy). */
export async function publishedWindows(db: string): Promise<PublishedWindow[]> {
  return waitFor('the results table', () =>
    peekDb(db, (d) => d.prepare('SELECT * FROM results ORDER BY seq').all() as PublishedWindow[]),
  );
}

/** `PRAGMA integrity_check` on a read-only connection. */
export function integrityCheck(db: string): unknown {
  const check = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return check.pragma('integrity_check', { simple: true });
  } finally {
    check.close();
  }
}

/** Keys of (job, window_start, key) that occur more than once among the rows. */
export function duplicatedWindowKeys(rows: readonly JsonRow[]): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const row of rows) {
    const id = `${row.job}|${row.window_start}|${row.key}`;
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  return twice;
}

/**
 * Writes `data` to a child's stdin `chunkBytes` at a time, one chunk every
 * `everyMs`, cutting anywhere (mid-line, mid-word, mid-character); resolves
 * once the last chunk is handed over (stdin is left open unless `end`).
 */
export async function feedPaced(
  child: ChildProcessWithoutNullStreams,
  data: Buffer,
  options: { readonly chunkBytes: number; readonly everyMs: number; readonly end?: boolean },
): Promise<void> {
  for (let at = 0; at < data.length; at += options.chunkBytes) {
    const chunk = data.subarray(at, Math.min(data.length, at + options.chunkBytes));
    if (!child.stdin.write(chunk)) await new Promise<void>((done) => child.stdin.once('drain', () => done()));
    await sleep(options.everyMs);
  }
  if (options.end === true) child.stdin.end();
}

/**
 * A word corpus of about `targetBytes`: lines of 1-12 words drawn from a
 * vocabulary of `vocabulary` words (some with multi-byte UTF-8), separated
 * by ASCII blanks; some CRLF line ends, some empty lines.
 */
export function generateWordCorpus(random: () => number, targetBytes: number, vocabulary: number): Buffer {
  const flavours = ['', 'é', '日本', '😀', 'Ωμ', 'e\u0301', "'s", '-x'];
  const words: string[] = [];
  for (let i = 0; i < vocabulary; i++) {
    const base = `v${i.toString(36)}`;
    words.push(i % 5 === 0 ? `${base}${flavours[(i / 5) % flavours.length]}` : base);
  }
  const separators = [' ', ' ', ' ', '\t', '  '];
  const lines: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    let line = '';
    if (random() >= 0.01) {
      const n = 1 + Math.floor(random() * 12);
      for (let i = 0; i < n; i++) {
        if (i > 0) line += separators[Math.floor(random() * separators.length)]!;
        line += words[Math.floor(random() * words.length)]!;
      }
    }
    line += random() < 0.1 ? '\r\n' : '\n';
    lines.push(line);
    bytes += Buffer.byteLength(line);
  }
  return Buffer.from(lines.join(''), 'utf8');
}

// ---------------------------------------------------------------------------
// Network and live inputs (network.test.ts, follow.test.ts)
// ---------------------------------------------------------------------------

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

/** Per-key totals summed over all windows of `tsv` output (keys unescaped: \t, \n, \\). */
export function tsvTotals(text: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.length === 0) continue;
    const cols = line.split('\t');
    if (cols.length !== 4) throw new Error(`not a 4-column tsv row: ${JSON.stringify(line.slice(0, 200))}`);
    const key = cols[2]!.replace(/\\(.)/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c));
    totals.set(key, (totals.get(key) ?? 0) + Number(cols[3]));
  }
  return totals;
}

/** A source row of `status --format json` with the network fields. */
export interface SourceStatusJson {
  readonly job: string;
  readonly source: string;
  readonly kind: string;
  readonly offset: number;
  readonly lines: number;
  readonly clients: number;
  readonly refused: number;
}

/** The source rows of `status --db DB --format json`; [] while the database does not exist yet. */
export async function sourceStatus(db: string): Promise<SourceStatusJson[]> {
  if (!existsSync(db)) return [];
  const result = await runCli(['status', '--db', db, '--format', 'json']);
  if (result.exitCode !== 0) return [];
  return (JSON.parse(result.stdout) as { sources: SourceStatusJson[] }).sources;
}

/** Polls `status` (about every 100 ms plus its start-up) until `check` accepts a source row of it. */
export async function waitForSource(
  db: string,
  what: string,
  check: (source: SourceStatusJson) => boolean,
  timeoutMs = 15_000,
): Promise<SourceStatusJson> {
  const deadline = Date.now() + timeoutMs;
  let last: SourceStatusJson[] = [];
  for (;;) {
    last = await sourceStatus(db);
    const hit = last.find(check);
    if (hit !== undefined) return hit;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; sources: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}
