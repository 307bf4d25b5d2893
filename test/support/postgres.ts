/**
 * A real, throwaway PostgreSQL server for tests: a cluster initialised in a
 * temporary directory, listening on a free loopback port with trust auth and
 * no fsync, removed again by stop(). scripts/pg-dev.sh starts the same by hand.
 * Also: a fresh database on it (createDatabase), a pool to read one with
 * (pgPool), and, for tests of a connection lost mid-commit, killing other
 * sessions of a database (terminateBackends) and holding commits at their
 * COMMIT (holdCommits).
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeTcpPort } from './proc.js';

export interface PgServer {
  /** The superuser's URL of the `postgres` database, e.g. postgres://postgres@127.0.0.1:PORT/postgres. */
  readonly url: string;
  readonly port: number;
  /** Stops the server at once (immediate mode) and removes its directory. */
  stop(): Promise<void>;
}

/** A session of pg_stat_activity, as terminateBackends' filter sees it. */
export interface PgSession {
  readonly pid: number;
  readonly applicationName: string;
  /** active, idle, idle in transaction, ... */
  readonly state: string | null;
  /** What it waits for, if anything: 'Lock' while it waits for a lock another session holds. */
  readonly waitEventType: string | null;
  readonly query: string;
}

const POSTGRES_ROOT = '/usr/lib/postgresql';

/** The bin directory of the newest PostgreSQL installed by Debian's packages. */
export function serverBinDir(): string {
  let versions: string[] = [];
  try {
    versions = readdirSync(POSTGRES_ROOT).filter((name) => /^\d+$/.test(name));
  } catch {
    // No such directory: reported below like an empty one.
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new Error(`no PostgreSQL server under ${POSTGRES_ROOT}/*/bin: install Debian's postgresql package (.ci/run does)`);
  }
  return join(POSTGRES_ROOT, newest, 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a program; fails with its output if it fails. */
function run(file: string, args: readonly string[], cwd?: string): Promise<void> {
  return new Promise((done, fail) => {
    execFile(file, args, { cwd }, (error, stdout, stderr) => {
      if (error === null) done();
      else fail(new Error(`${[file, ...args].join(' ')} failed (${error.code ?? error.signal}):\n${stdout}${stderr}`.trimEnd()));
    });
  });
}

/** The command line of a server program; initdb refuses root, so as root it runs as the postgres OS user. */
function serverTool(bin: string, tool: string, args: readonly string[]): [string, string[]] {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), [...args]];
}

function runServerTool(bin: string, tool: string, args: readonly string[], dir: string): Promise<void> {
  // cwd: a directory the postgres user may enter (not root's home or the repository).
  return run(...serverTool(bin, tool, args), dir);
}

/**
 * Starts a watchdog outside this process group: once our end of its stdin
 * closes (we exited, even by Ctrl-C or SIGKILL, without stop(); or stop()
 * closed it) it runs `stopCommand` and removes `dir`, unless stop() already did.
 * Answers the function that closes its stdin.
 */
function watchdog(dir: string, stopCommand: [string, string[]]): () => void {
  const script = 'cat >/dev/null; [ -d "$0" ] || exit 0; "$@" >/dev/null 2>&1; rm -rf "$0"';
  const child = spawn('sh', ['-c', script, dir, stopCommand[0], ...stopCommand[1]], { cwd: dir, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  // Neither the process nor its stdin may keep the test runner alive.
  child.unref();
  (child.stdin as Socket).unref();
  return () => child.stdin.end();
}

async function logTail(log: string, lines = 20): Promise<string> {
  try {
    return (await readFile(log, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/** Initialises and starts a throwaway cluster (about a second); throws, with the server log's tail, if it cannot. */
export async function startPostgres(): Promise<PgServer> {
  const bin = serverBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'statesync-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    if (asRoot) await run('chown', ['postgres:', dir]);
    await runServerTool(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], dir);
    const port = await freeTcpPort();
    // pg_ctl hands -o to a shell: the directory is quoted.
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -c 'unix_socket_directories=${dir}' -c fsync=off -c max_connections=200`;
    try {
      await runServerTool(bin, 'pg_ctl', ['-D', data, '-l', log, '-w', '-o', options, 'start'], dir);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nthe server log ends:\n${await logTail(log)}`);
    }
    const stopArgs = ['-D', data, '-m', 'immediate', 'stop'];
    const release = watchdog(dir, serverTool(bin, 'pg_ctl', stopArgs));
    let stopped: Promise<void> | null = null;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      stop: () => (stopped ??= runServerTool(bin, 'pg_ctl', stopArgs, dir).finally(remove).finally(release)),
    };
  } catch (error) {
    await remove();
    throw new Error(`could not start a throwaway PostgreSQL server (${bin}): ${(error as Error).message}`);
  }
}

/** int8 as a JS number: the tests' counts, offsets and times stay far below 2^53. */
const INT8_AS_NUMBER: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The application name of the tests' own sessions: a filter on statesync's ('statesync') never matches them. */
export const TEST_APPLICATION = 'statesync-tests';

/**
 * A small pool on one database, for tests that read what statesync wrote
 * (its tables are in schema `statesync`) or look at the server's sessions;
 * int8 columns come back as numbers. end() it when done.
 */
export function pgPool(dbUrl: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: dbUrl, max: 3, application_name: TEST_APPLICATION, types: INT8_AS_NUMBER });
  // An idle client whose session was terminated reports here; the pool replaces it.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `use` with a client connected to `url`, and closes it. */
async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database (named `t_<random>` unless `name` is given) on the server of `serverUrl`; answers its URL. */
export async function createDatabase(serverUrl: string, name = `t_${randomBytes(6).toString('hex')}`): Promise<string> {
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/**
 * Terminates the other client sessions of the database of `dbUrl` (those
 * `filter` accepts, by default all) and waits until they are gone; answers
 * their pids. Their clients see the connection lost at their next use.
 */
export async function terminateBackends(dbUrl: string, filter: (session: PgSession) => boolean = () => true): Promise<number[]> {
  return withClient(dbUrl, async (client) => {
    const { rows } = await client.query<PgSession>(
      `SELECT pid, application_name AS "applicationName", state, wait_event_type AS "waitEventType", query FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    );
    const chosen = rows.filter(filter).map((session) => session.pid);
    // With a timeout, pg_terminate_backend waits until the session has ended.
    for (const pid of chosen) await client.query('SELECT pg_terminate_backend($1, 5000)', [pid]);
    return chosen;
  });
}

/** Transactions held at their COMMIT (see holdCommits). */
export interface CommitGate {
  /** Lets every held COMMIT (and any later one) go on. */
  release(): Promise<void>;
  /** Releases, and removes the trigger; once no transaction of statesync's is left open on the table. */
  remove(): Promise<void>;
}

/**
 * Holds the COMMIT of every transaction that writes a row of `statesync.<table>`
 * for which `when` (an SQL condition on NEW) holds, until release(): a
 * deferred constraint trigger waits at COMMIT for an advisory lock this gate
 * holds. Those transactions are then `active` in pg_stat_activity with the
 * query `COMMIT`, waiting on a lock. For tests of a commit in flight.
 */
export async function holdCommits(dbUrl: string, table: string, when = 'true'): Promise<CommitGate> {
  const client = new pg.Client({ connectionString: dbUrl, application_name: TEST_APPLICATION });
  client.on('error', () => undefined);
  await client.connect();
  const key = randomBytes(4).readUInt32BE() >>> 1;
  const name = `statesync_test_gate_${key}`;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [key]);
    await client.query(
      `CREATE FUNCTION public.${name}() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_advisory_xact_lock_shared(${key}); RETURN NULL; END $$`,
    );
    await client.query(
      `CREATE CONSTRAINT TRIGGER ${name} AFTER INSERT OR UPDATE ON statesync.${client.escapeIdentifier(table)}
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION public.${name}()`,
    );
  } catch (error) {
    await client.end();
    throw error;
  }
  let released: Promise<void> | null = null;
  const release = () => (released ??= client.query('SELECT pg_advisory_unlock($1)', [key]).then(() => undefined));
  return {
    release,
    remove: async () => {
      try {
        await release();
        await client.query(`DROP TRIGGER ${name} ON statesync.${client.escapeIdentifier(table)}`);
        await client.query(`DROP FUNCTION public.${name}()`);
      } finally {
        await client.end();
      }
    },
  };
}
