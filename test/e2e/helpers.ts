/**
 * Shared helpers for the end-to-end tests: they spawn the real entry point
 * (bin/statesync.js over the bundled dist/statesync.cjs) as child processes, the way a
 * user's shell would, and read results back through the CLI itself. Every test
 * file sets itself up with useTempDir, and waits with waitFor on a condition.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { cliEnv } from '../support/cli-env.js';
import { bytesReadBy, waitUntilHandled } from '../support/proc.js';
import { sleep, waitFor } from '../support/wait.js';

// The general helpers live in test/support; end-to-end tests import them from here.
export { cliEnv };
export { seededRandom } from '../support/prng.js';
export * from '../support/counts.js';
export * from '../support/proc.js';
export * from '../support/wait.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const binPath = join(repoRoot, 'bin', 'statesync.js');

if (!existsSync(join(repoRoot, 'dist', 'statesync.cjs'))) {
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
  /** Extra environment (STATESYNC_NOW etc.) on top of cliEnv(). */
  readonly env?: Readonly<Record<string, string>>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts `node bin/statesync.js ...args` with all three stdio streams as pipes. */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): ChildProcessWithoutNullStreams {
  const child = spawn(process.execPath, [binPath, ...args], { env: cliEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
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

/** Asserts a run's exit code, showing its stderr (or the signal that ended it) when it differs. */
export function expectExit(result: CliResult, code: number): void {
  expect(result.exitCode, `exit ${result.exitCode ?? result.signal}; stderr: ${result.stderr}`).toBe(code);
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

/** The temporary directory of a test file or describe block (see useTempDir). */
export interface TempDir {
  /** Its path: made in beforeAll, so read it inside tests and hooks only. */
  readonly dir: string;
  /** A path inside it. */
  path(...names: string[]): string;
  /** A database path in it that no other test was given. */
  newDb(): string;
  /** A new empty subdirectory, as its real path. */
  newDir(): string;
}

/**
 * The setup every end-to-end test file (or describe block) shares: a fresh
 * temporary directory, removed after the last test, and every child that
 * spawnCli started killed after each test.
 */
export function useTempDir(prefix: string): TempDir {
  let made: string | undefined;
  let serial = 0;
  beforeAll(async () => {
    made = await mkdtemp(join(tmpdir(), `statesync-e2e-${prefix}-`));
  });
  afterEach(() => killLeftoverChildren());
  afterAll(async () => {
    if (made !== undefined) await rm(made, { recursive: true, force: true });
  });
  const dir = (): string => {
    if (made === undefined) throw new Error(`the ${prefix} temporary directory is made in beforeAll: use it inside tests and hooks`);
    return made;
  };
  return {
    get dir() {
      return dir();
    },
    path: (...names) => join(dir(), ...names),
    newDb: () => join(dir(), `db-${++serial}.db`),
    newDir: () => {
      const sub = join(dir(), `case-${++serial}`);
      mkdirSync(sub);
      return realpathSync(sub);
    },
  };
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
 * The highest offset committed for the sources of `job` (all jobs if null)
 * whose id contains `source` (all sources if omitted), read from the database
 * file: 0 before the first commit, undefined while the file cannot be read.
 */
export function committedOffset(db: string, job: string | null = null, source: string | null = null): number | undefined {
  return peekDb(
    db,
    (d) =>
      d
        .prepare('SELECT COALESCE(MAX(offset), 0) FROM sources WHERE (@job IS NULL OR job = @job) AND (@source IS NULL OR instr(source, @source) > 0)')
        .pluck()
        .get({ job, source }) as number,
  );
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

/** Waits until the child has read `bytes` more than `baseline` and handled them (or a fixed pause where /proc is not available). */
export async function waitUntilRead(child: ChildProcessWithoutNullStreams, baseline: number | null, bytes: number): Promise<void> {
  if (baseline === null) {
    await sleep(500);
    return;
  }
  await waitFor(`the child to read ${bytes} bytes of stdin`, () => {
    const now = bytesReadBy(child.pid!);
    return now !== null && now - baseline >= bytes;
  });
  await waitUntilHandled(child);
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

// ---------------------------------------------------------------------------
// Network and live inputs (network.test.ts, follow.test.ts)
// ---------------------------------------------------------------------------

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
