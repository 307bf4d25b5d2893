/**
 * The CLI against a real PostgreSQL server (issue 14): `watch --follow`
 * woken by NOTIFY and surviving the loss of its sessions; a worker whose
 * connection is cut mid-commit exits 1 with one line and a rerun resumes
 * exactly; every connection failure and malformed URL is one line with its
 * exit code, and a password in the URL is never printed; STATESYNC_DB.
 */
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { holdCommits, pgServerUrl, terminateBackends, TEST_APPLICATION, usePgProbes, type PgProbe } from '../support/pg.js';
import {
  addCounts,
  collect,
  expectCounts,
  freeTcpPort,
  parseJsonLines,
  queryTotals,
  runCli,
  runCliOk,
  spawnCli,
  status,
  tsvTotals,
  useTempDir,
  waitFor,
  watchRows,
  wordCounts,
  type CliResult,
  expectExit,
} from './helpers.js';

const tmp = useTempDir('pg-cli');
const pgs = usePgProbes();

/** The newest publication number, from the counter row. */
async function publishedSeq(db: PgProbe): Promise<number> {
  const [row] = await db.rows<{ value: number }>(`SELECT value FROM statesync.sequences WHERE name = 'publication'`);
  return row!.value;
}

/** statesync's LISTEN session on the database, if there is one. */
async function listener(db: PgProbe): Promise<number | undefined> {
  return (await db.sessions()).find((s) => s.applicationName === 'statesync' && s.query === 'LISTEN statesync_publication')?.pid;
}

// ---------------------------------------------------------------------------
// watch --follow
// ---------------------------------------------------------------------------

describe('watch --follow on PostgreSQL', () => {
  it('prints each publication as NOTIFY announces it, and keeps following after its sessions are killed', async () => {
    const db = await pgs.fresh();
    const write = async (input: string) => expectExit(await runCli(['count', '--db', db.url, '--job', 'live', '--window', '1d', '--quiet'], { input }), 0);
    await write('seed\n');

    const watcher = spawnCli(['watch', '--db', db.url, '--follow', '--format', 'json']);
    const watched = collect(watcher, 45_000);
    /** When each publication number was first printed. */
    const printedAt = new Map<number, number>();
    let partial = '';
    watcher.stdout.on('data', (b: Buffer) => {
      const lines = (partial + b.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const { seq } = JSON.parse(line) as { seq: number };
        if (!printedAt.has(seq)) printedAt.set(seq, Date.now());
      }
    });
    await waitFor('the watcher to print the seed', () => printedAt.has(1));
    const listening = await waitFor('the watcher to LISTEN', () => listener(db));

    /**
     * Runs one writer and waits for the watcher to print its publication. Without NOTIFY it would
     * wait for the 3 s fallback poll: the writer's publication comes well under a second after
     * the watcher last looked, so a poll would print it about 2 s or more after it committed.
     */
    const publishAndTime = async (input: string) => {
      await write(input);
      const exitedAt = Date.now();
      const seq = await publishedSeq(db);
      const [published] = await db.rows<{ finalized_at: number }>('SELECT finalized_at FROM statesync.results WHERE seq = $1', [seq]);
      const committedAt = published!.finalized_at;
      await waitFor(`the watcher to print seq ${seq}`, () => printedAt.has(seq));
      const shownAt = printedAt.get(seq)!;
      expect(shownAt - exitedAt, `seq ${seq}: printed after the writer exited`).toBeLessThan(2000);
      expect(shownAt - committedAt, `seq ${seq}: printed after it was published`).toBeLessThan(1000);
      return shownAt - committedAt;
    };
    const latencies = [await publishAndTime('alpha beta\n'), await publishAndTime('gamma\n')];

    // Its sessions are killed (the server stays up): the pooled one and the LISTENing one.
    const killed = await terminateBackends(db.url, (s) => s.applicationName === 'statesync');
    expect(killed).toContain(listening);
    // A publication while it may still be reconnecting is not lost.
    await write('delta\n');
    const during = await publishedSeq(db);
    await waitFor(`the watcher to print seq ${during} after losing its sessions`, () => printedAt.has(during));
    // It LISTENs again, on a new session, and is as prompt as before.
    await waitFor('the watcher to LISTEN again', async () => {
      const pid = await listener(db);
      return pid !== undefined && !killed.includes(pid);
    });
    for (const input of ['epsilon\n', 'zeta eta\n', 'theta\n']) latencies.push(await publishAndTime(input));
    console.info(`watch --follow: printed ${latencies.join(', ')} ms after each publication`);

    expect(watcher.exitCode).toBeNull();
    watcher.kill('SIGINT');
    const result = await watched;
    expectExit(result, 130);
    expect(result.stderr).toBe('');
    // Every publication once, in order: what a plain `watch` prints of the whole log.
    expect(parseJsonLines(result.stdout)).toEqual(await watchRows(db.url));
    expect([...printedAt.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

// ---------------------------------------------------------------------------
// A connection lost while a worker commits
// ---------------------------------------------------------------------------

/** Unique lines `tag-000000`, and the expected count of each under `--key line`. */
class Lines {
  readonly expected = new Map<string, number>();
  private next = 0;
  constructor(private readonly tag: string) {}

  make(n: number): string {
    let text = '';
    for (let i = 0; i < n; i++) {
      const key = `${this.tag}-${String(this.next++).padStart(6, '0')}`;
      this.expected.set(key, 1);
      text += `${key}\n`;
    }
    return text;
  }
}

const size = (path: string): number => statSync(path).size;

/**
 * A worker follows a growing file; the server holds its next commit (at its
 * COMMIT, or waiting for the job's row lock inside the transaction), and the
 * test terminates that session. The worker must stop with one line, and a
 * rerun of the same command must count every line exactly once.
 */
async function loseConnectionWhileCommitting(where: 'at COMMIT' | 'inside the transaction', message: RegExp): Promise<void> {
  const db = await pgs.fresh();
  const path = join(tmp.newDir(), 'app.log');
  const lines = new Lines(where === 'at COMMIT' ? 'c' : 't');
  writeFileSync(path, lines.make(300));
  const args = ['count', '--follow', path, '--db', db.url, '--key', 'line', '--window', '1d', '--commit-interval', '20ms', '--format', 'tsv'];
  const committed = async () => (await db.peek<{ offset: number }>(`SELECT "offset" FROM statesync.sources`))?.[0]?.offset;

  const first = spawnCli(args);
  const firstDone = collect(first, 30_000);
  await waitFor('the worker to commit the file so far', async () => (await committed()) === size(path));

  let unblock: () => Promise<void>;
  let cleanUp: () => Promise<void>;
  if (where === 'at COMMIT') {
    const gate = await holdCommits(db.url, 'sources');
    unblock = () => gate.release();
    cleanUp = () => gate.remove();
  } else {
    // The test's own transaction holds the job's row lock, which every commit takes first.
    const locker = new pg.Client({ connectionString: db.url, application_name: TEST_APPLICATION });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`SELECT 1 FROM statesync.jobs WHERE job = 'default' FOR UPDATE`);
    unblock = () => locker.query('ROLLBACK').then(() => undefined);
    cleanUp = () => locker.end();
  }
  try {
    appendFileSync(path, lines.make(100));
    const blocked = await waitFor('the worker to wait in its commit', async () =>
      (await db.sessions()).find(
        (s) => s.applicationName === 'statesync' && s.waitEventType === 'Lock' && (where === 'at COMMIT' ? s.query === 'COMMIT' : /FOR UPDATE/.test(s.query)),
      ),
    );
    expect(await terminateBackends(db.url, (s) => s.pid === blocked.pid)).toEqual([blocked.pid]);
    await unblock();
    const result = await firstDone;
    expectExit(result, 1);
    // One line, no stack.
    expect(result.stderr).toMatch(/^statesync: [^\n]+\n$/);
    expect(result.stderr).toMatch(message);
  } finally {
    await cleanUp();
  }

  // The file grows while nothing follows it; the same command again resumes where the server says.
  appendFileSync(path, lines.make(100));
  const resumeFrom = (await committed())!;
  expect(resumeFrom).toBeGreaterThan(0);
  expect(resumeFrom).toBeLessThan(size(path));
  const rerun = spawnCli(args);
  const rerunDone = collect(rerun, 30_000);
  await waitFor('the rerun to commit the whole file', async () => (await committed()) === size(path));
  rerun.kill('SIGINT');
  const result = await rerunDone;
  expectExit(result, 130);
  expect(result.stderr).toContain(`resuming after ${resumeFrom} bytes already committed`);
  // No line lost or counted twice: in what the rerun printed, in the state, in the counters.
  expectCounts(tsvTotals(result.stdout), lines.expected);
  expectCounts(await queryTotals(db.url), lines.expected);
  const { jobs } = await status(db.url);
  expect(jobs[0]).toMatchObject({ records: lines.expected.size, rejected: 0, late: 0 });
}

describe('a worker whose connection is lost while it commits', () => {
  it('at COMMIT: exits 1 saying the outcome is unknown; the same command again resumes exactly', async () => {
    await loseConnectionWhileCommitting(
      'at COMMIT',
      /^statesync: lost the connection to the PostgreSQL server at 127\.0\.0\.1:\d+ during COMMIT: whether the last commit was applied is unknown; run the same command again, it resumes from the offsets the server holds\n$/,
    );
  });

  it('inside the transaction: exits 1 saying the connection was lost; the same command again resumes exactly', async () => {
    await loseConnectionWhileCommitting(
      'inside the transaction',
      /^statesync: lost the connection to the PostgreSQL server at 127\.0\.0\.1:\d+: terminating connection due to administrator command\n$/,
    );
  });
});

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/** The commands that read --db, run at once against `db`. */
function readers(db: string): Promise<CliResult[]> {
  return Promise.all([
    runCli(['query', '--db', db]),
    runCli(['status', '--db', db]),
    runCli(['watch', '--db', db]),
    runCli(['watch', '--db', db, '--follow'], { timeoutMs: 15_000 }),
  ]);
}

/** Every command that takes --db (a stream command with a line on stdin, and the readers), run at once against `db`. */
async function everyCommand(db: string): Promise<CliResult[]> {
  const [written, read] = await Promise.all([runCli(['count', '--db', db, '--window', '1h'], { input: 'a b\n' }), readers(db)]);
  return [written, ...read];
}

/** One line on stderr, no stack, nothing on stdout, the exit code. */
function expectOneLineError(result: CliResult, code: number, message: RegExp): void {
  expectExit(result, code);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^statesync: [^\n]+\n$/);
  expect(result.stderr).toMatch(message);
}

describe('connection errors and URLs', () => {
  it('an unreachable server, a refused login, a missing database: one line, exit 1', async () => {
    const server = new URL(pgServerUrl());
    const closed = await freeTcpPort();
    const role = `nologin_${process.pid}_${Date.now()}`;
    await pgs.on(pgServerUrl()).rows(`CREATE ROLE ${role} NOLOGIN`);
    const db = await pgs.fresh();
    const dbName = new URL(db.url).pathname.slice(1);
    const cases: Array<[string, RegExp]> = [
      [`postgres://postgres@127.0.0.1:${closed}/x`, new RegExp(`cannot reach the PostgreSQL server at 127\\.0\\.0\\.1:${closed}: connection refused`)],
      [`postgres://${role}@127.0.0.1:${server.port}/${dbName}`, new RegExp(`refused the login: role "${role}" is not permitted to log in`)],
      [`postgres://postgres@127.0.0.1:${server.port}/nosuchdb`, /the PostgreSQL server at 127\.0\.0\.1:\d+ has no database: database "nosuchdb" does not exist/],
    ];
    for (const [url, message] of cases) {
      for (const result of await everyCommand(url)) expectOneLineError(result, 1, message);
    }
  });

  it('a malformed URL: one line, exit 2', async () => {
    const cases: Array<[string, RegExp]> = [
      ['postgres://host:notaport/db', /--db postgres:\/\/host:notaport\/db is not a valid PostgreSQL URL/],
      ['postgres://host:5432/', /--db postgres:\/\/host:5432\/ names no database/],
    ];
    for (const [url, message] of cases) {
      for (const result of await everyCommand(url)) expectOneLineError(result, 2, message);
    }
  });

  it('a database statesync never used: reading commands say so, exit 2, and create nothing', async () => {
    const db = await pgs.fresh();
    for (const result of await readers(db.url)) {
      expectOneLineError(result, 2, /holds no statesync state yet; run a stream command with --db postgres:\/\/\S+ first/);
    }
    expect(await db.rows(`SELECT to_regnamespace('statesync') AS schema`)).toEqual([{ schema: null }]);
  });

  it('a password in the URL is never printed: errors, status, a job mismatch', async () => {
    const secret = 's3cr3t';
    const closed = await freeTcpPort();
    const server = new URL(pgServerUrl());
    const db = await pgs.fresh();
    // The server trusts every local login, so any password gets in: the messages of a working run show.
    const withPassword = db.url.replace('postgres@', `postgres:${secret}@`);
    expect(withPassword).toContain(secret);
    const outputs: CliResult[] = [];
    const failing: Array<[string, number]> = [
      [`postgres://postgres:${secret}@127.0.0.1:${closed}/x`, 1],
      [`postgres://postgres:${secret}@127.0.0.1:${server.port}/nosuchdb`, 1],
      [`postgres://postgres:${secret}@127.0.0.1:notaport/x`, 2],
      [`postgres://postgres:${secret}@127.0.0.1:${server.port}/`, 2],
      // An unencoded '/' in the password ends the URL's host part early: still never shown.
      [`postgres://postgres:s3/${secret}@127.0.0.1:${server.port}/x`, 2],
      [`postgres://postgres:5432/${secret}@127.0.0.1/x`, 2],
    ];
    for (const [url, code] of failing) {
      for (const result of await everyCommand(url)) {
        expectOneLineError(result, code, /.+/);
        outputs.push(result);
      }
    }
    // Against the real server: a run, status in both formats, query, watch.
    const run = await runCli(['count', '--db', withPassword, '--window', '1d'], { input: 'a b a\n' });
    expectExit(run, 0);
    const text = await runCliOk(['status', '--db', withPassword]);
    expect(text.stdout).toContain(`postgres://postgres:***@127.0.0.1:${server.port}/`);
    const json = await runCliOk(['status', '--db', withPassword, '--format', 'json']);
    expect((JSON.parse(json.stdout) as { database: string }).database).toBe(withPassword.replace(secret, '***'));
    outputs.push(run, text, json, await runCliOk(['query', '--db', withPassword]), await runCliOk(['watch', '--db', withPassword]));
    // A job whose definition differs names the database: without its password.
    const mismatch = await runCli(['count', '--db', withPassword, '--window', '1h'], { input: 'a\n' });
    expectOneLineError(mismatch, 2, /job 'default' in postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/\w+ was defined with window 1d \(this run: 1h\)/);
    outputs.push(mismatch);
    for (const { stdout, stderr } of outputs) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
  });
});

// ---------------------------------------------------------------------------
// STATESYNC_DB
// ---------------------------------------------------------------------------

describe('STATESYNC_DB=postgres://…', () => {
  it('works like --db for every command, and --db wins over it', async () => {
    const db = await pgs.fresh();
    const env = { STATESYNC_DB: db.url };
    const input = 'to be or not to be\nthat is the question\n';
    expectExit(await runCli(['count', '--window', '1d', '--quiet'], { input, env }), 0);
    const viaEnv = await runCliOk(['query', '--format', 'json'], { env });
    const viaFlag = await runCliOk(['query', '--db', db.url, '--format', 'json']);
    expect(viaEnv.stdout).toBe(viaFlag.stdout);
    expectCounts(await queryTotals(db.url), wordCounts(input));
    const st = JSON.parse((await runCliOk(['status', '--format', 'json'], { env })).stdout) as { database: string; jobs: Array<{ records: number }> };
    expect(st.database).toBe(db.url);
    expect(st.jobs[0]!.records).toBe(10);
    expect((await runCliOk(['watch', '--format', 'json'], { env })).stdout).toBe((await runCliOk(['watch', '--db', db.url, '--format', 'json'])).stdout);

    // --db given: STATESYNC_DB (here a server nobody listens on) is not used.
    const elsewhere = { STATESYNC_DB: `postgres://postgres@127.0.0.1:${await freeTcpPort()}/x` };
    expectExit(await runCli(['count', '--db', db.url, '--window', '1d', '--quiet'], { input: 'be\n', env: elsewhere }), 0);
    expectCounts(await queryTotals(db.url), addCounts(wordCounts(input), wordCounts('be')));
    expectOneLineError(await runCli(['status'], { env: elsewhere }), 1, /cannot reach the PostgreSQL server/);
  });
});
