// A throwaway PostgreSQL server for the benchmark, started like the tests' (test/support/postgres.ts,
// which is TypeScript and so cannot be imported here): a cluster initialised in a temporary directory,
// on a free loopback port, trust auth, fsync off; stop() removes it again. A watchdog outside our
// process group stops it if the benchmark dies without calling stop() (Ctrl-C, SIGKILL).
// Databases are made and dropped with the server's own createdb/dropdb (node: built-ins only).

import { execFile, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POSTGRES_ROOT = '/usr/lib/postgresql';
const asRoot = process.getuid?.() === 0;

/** The bin directory of the newest PostgreSQL installed by Debian's packages, or null. */
export function serverBinDir() {
  let versions = [];
  try {
    versions = readdirSync(POSTGRES_ROOT).filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? null : join(POSTGRES_ROOT, newest, 'bin');
}

function run(file, args, cwd) {
  return new Promise((done, fail) => {
    execFile(file, args, { cwd }, (error, stdout, stderr) => {
      if (error === null) done(stdout);
      else fail(new Error(`${[file, ...args].join(' ')} failed (${error.code ?? error.signal}):\n${stdout}${stderr}`.trimEnd()));
    });
  });
}

/** initdb refuses root: as root the server programs run as the postgres OS user. */
function serverTool(bin, tool, args) {
  return asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), [...args]];
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function watchdog(dir, [command, args]) {
  const script = 'cat >/dev/null; [ -d "$0" ] || exit 0; "$@" >/dev/null 2>&1; rm -rf "$0"';
  const child = spawn('sh', ['-c', script, dir, command, ...args], { cwd: dir, detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.unref();
  child.stdin.unref();
  return () => child.stdin.end();
}

/**
 * Starts a server; answers { url(db), version, createDatabase(name), dropDatabase(name), stop() }.
 * `url(db)` is the superuser's postgres:// URL of database `db`.
 */
export async function startPostgres() {
  const bin = serverBinDir();
  if (bin === null) throw new Error(`no PostgreSQL server under ${POSTGRES_ROOT}/*/bin: install Debian's postgresql package`);
  const dir = await mkdtemp(join(tmpdir(), 'statesync-bench-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  try {
    if (asRoot) await run('chown', ['postgres:', dir]);
    await run(...serverTool(bin, 'initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']), dir);
    const port = await freePort();
    const options = `-c listen_addresses=127.0.0.1 -p ${port} -c 'unix_socket_directories=${dir}' -c fsync=off -c max_connections=200`;
    try {
      await run(...serverTool(bin, 'pg_ctl', ['-D', data, '-l', log, '-w', '-o', options, 'start']), dir);
    } catch (error) {
      const tail = await readFile(log, 'utf8').then((t) => t.trimEnd().split('\n').slice(-20).join('\n'), () => '(no server log)');
      throw new Error(`${error.message}\nthe server log ends:\n${tail}`);
    }
    const stopArgs = ['-D', data, '-m', 'immediate', 'stop'];
    const release = watchdog(dir, serverTool(bin, 'pg_ctl', stopArgs));
    const client = (tool, name) => run(join(bin, tool), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', name]);
    const version = (await run(join(bin, 'postgres'), ['--version'])).trim();
    let stopped = null;
    return {
      version,
      url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
      createDatabase: (name) => client('createdb', name),
      dropDatabase: (name) => client('dropdb', name),
      stop: () =>
        (stopped ??= run(...serverTool(bin, 'pg_ctl', stopArgs), dir)
          .finally(() => rm(dir, { recursive: true, force: true }))
          .finally(release)),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not start a throwaway PostgreSQL server (${bin}): ${error.message}`);
  }
}
