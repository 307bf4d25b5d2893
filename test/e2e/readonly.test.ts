/**
 * Commands that only read (query, status, watch, snapshot export) work on a
 * database they cannot write, and every command says why in one line when it
 * cannot open one (issue 11, point 19).
 *
 * A truly read-only database needs a read-only file system: tests run as root,
 * for whom chmod stops nothing. As root each read-only run happens in its own
 * mount namespace (`unshare -m`) where the database's directory is bind-mounted
 * read-only, so nothing outside the child process ever sees the mount and
 * nothing is left to clean up; a user other than root is simulated with
 * `setpriv`. Run as another user, the test uses chmod instead.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binPath,
  cliEnv,
  collect,
  parseJsonLines,
  peekDb,
  runCli,
  runCliOk,
  spawnCli,
  textOf,
  useTempDir,
  waitFor,
  type CliResult,
} from './helpers.js';

const asRoot = process.getuid?.() === 0;

/** Runs the CLI with `dir` read-only for it (and for it alone). */
function spawnReadOnly(dir: string, args: readonly string[]) {
  if (asRoot) {
    return spawn(
      'unshare',
      ['-m', 'sh', '-c', 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"', 'sh', dir, process.execPath, binPath, ...args],
      { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] },
    );
  }
  return spawn(process.execPath, [binPath, ...args], { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
}

async function runReadOnly(dir: string, args: readonly string[], timeoutMs = 30_000): Promise<CliResult> {
  const child = spawnReadOnly(dir, args);
  const done = collect(child, timeoutMs);
  child.stdin.end();
  return done;
}

/** Without root, read-only is the permission bits (undone by `writable`). */
function protect(dir: string): void {
  if (asRoot) return;
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o444);
  chmodSync(dir, 0o555);
}

function writable(dir: string): void {
  if (asRoot) return;
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
}

const tmp = useTempDir('readonly');
// Another user (setpriv) must be able to reach the files.
beforeAll(() => chmodSync(tmp.dir, 0o755));
// Runs before useTempDir's removal (after-hooks run last-registered first).
afterAll(() => writable(tmp.dir));

let serial = 0;
/** A directory holding a database with one finalized window (a 2, b 1) of job `default`. */
async function databaseAtRest(): Promise<{ dir: string; db: string }> {
  const dir = tmp.path(`case-${serial++}`);
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(join(dir, 'in.txt'), 'a b a\n');
  const db = join(dir, 'state.db');
  await runCliOk(['count', '--db', db, '--window', '1d', '--quiet', join(dir, 'in.txt')]);
  return { dir, db };
}

/** A database whose writer was killed after committing: its -wal and -shm hold an open window (x 2, y 1). */
async function databaseOfACrashedWriter(): Promise<{ dir: string; db: string }> {
  const { dir, db } = await databaseAtRest();
  const writer = spawnCli(['count', '--db', db, '--window', '1d', '--job', 'crashed', '--commit-interval', '50ms', '--quiet']);
  const done = collect(writer, 20_000).catch(() => undefined);
  writer.stdin.write('x y x\n');
  await waitFor('the commit of x y x', () =>
    peekDb(db, (d) => d.prepare("SELECT lines FROM sources WHERE job = 'crashed'").pluck().get() === 1 || undefined),
  );
  writer.kill('SIGKILL');
  await done;
  expect(existsSync(`${db}-wal`) && existsSync(`${db}-shm`)).toBe(true);
  return { dir, db };
}

/** Every file of the directory with a hash of its bytes. */
const listing = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((name) => `${name} ${createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')}`);

describe('reading a database on a read-only file system', () => {
  it('query, status, watch and snapshot export work at rest, and create nothing beside the database', async () => {
    const { dir, db } = await databaseAtRest();
    const expected = (await runCliOk(['query', '--db', db, '--format', 'json'])).stdout;
    const before = listing(dir);
    protect(dir);
    try {
      const query = await runReadOnly(dir, ['query', '--db', db, '--format', 'json']);
      expect(query, query.stderr).toMatchObject({ exitCode: 0, stderr: '', stdout: expected });
      expect(parseJsonLines(query.stdout).map((r) => [r.key, r.value])).toEqual([
        ['a', 2],
        ['b', 1],
      ]);

      const status = await runReadOnly(dir, ['status', '--db', db, '--format', 'json']);
      expect(status.exitCode, status.stderr).toBe(0);
      expect((JSON.parse(status.stdout) as { jobs: Array<{ job: string; records: number }> }).jobs).toMatchObject([
        { job: 'default', records: 3 },
      ]);

      const watch = await runReadOnly(dir, ['watch', '--db', db, '--format', 'json']);
      // watch shows the same rows as query, each with its publication's seq, revision and final instead of the state.
      expect(watch, watch.stderr).toMatchObject({
        exitCode: 0,
        stderr: '',
        stdout: expected.replaceAll('"state":"provisional"', '"seq":1,"revision":1,"final":false'),
      });

      const snap = tmp.path(`export-${serial}.snap`);
      const exported = await runReadOnly(dir, ['snapshot', 'export', '--db', db, '-o', snap]);
      expect(exported.exitCode, exported.stderr).toBe(0);
      const inspect = await runCliOk(['snapshot', 'inspect', snap, '--format', 'json']);
      expect(JSON.parse(inspect.stdout)).toMatchObject({ ok: true, header: { counts: { jobs: 1, provisional_windows: 1, finalized_windows: 0 } } });
      const piped = await runReadOnly(dir, ['snapshot', 'export', '--db', db]);
      expect(piped.exitCode, piped.stderr).toBe(0);
      expect(piped.stdout.startsWith('STATESYNC-SNAPSHOT 1\n')).toBe(true);
    } finally {
      writable(dir);
    }
    expect(listing(dir)).toEqual(before);
  });

  it("reads a crashed writer's commits through its -wal and -shm", async () => {
    const { dir, db } = await databaseOfACrashedWriter();
    const before = listing(dir);
    protect(dir);
    try {
      const query = await runReadOnly(dir, ['query', '--db', db, '--job', 'crashed', '--format', 'json']);
      expect(query.exitCode, query.stderr).toBe(0);
      expect(parseJsonLines(query.stdout).map((r) => [r.key, r.value, r.state])).toEqual([
        ['x', 2, 'open'],
        ['y', 1, 'open'],
      ]);
    } finally {
      writable(dir);
    }
    expect(listing(dir)).toEqual(before);
  });

  it('a -wal holding commits without its -shm cannot be read there: one line saying why, exit 1', async () => {
    const crashed = await databaseOfACrashedWriter();
    const dir = tmp.path(`case-${serial++}`);
    mkdirSync(dir, { mode: 0o755 });
    const db = join(dir, 'state.db');
    copyFileSync(crashed.db, db);
    copyFileSync(`${crashed.db}-wal`, `${db}-wal`);
    protect(dir);
    try {
      const query = await runReadOnly(dir, ['query', '--db', db]);
      expect(query.exitCode).toBe(1);
      expect(query.stderr).toMatch(
        new RegExp(
          `^statesync: cannot read database ${db}: its -wal file holds commits whose index \\(-shm\\) is missing and cannot be created in ${dir} \\((read-only file system|permission denied)\\); open it once where it can be written\\n$`,
        ),
      );
    } finally {
      writable(dir);
    }
  });

  it('commands that write say the database cannot be written, exit 1, and change nothing', async () => {
    const { dir, db } = await databaseAtRest();
    const before = listing(dir);
    protect(dir);
    try {
      const cause = asRoot ? 'read-only file system' : 'permission denied';
      for (const args of [
        ['count', '--db', db, '--window', '1d', join(dir, 'in.txt')],
        ['compact', '--db', db],
      ]) {
        const r = await runReadOnly(dir, args);
        expect(r.exitCode, args.join(' ')).toBe(1);
        expect(r.stderr).toBe(`statesync: cannot write database ${db}: ${cause}\n`);
      }
      const fresh = await runReadOnly(dir, ['count', '--db', join(dir, 'new.db'), '--window', '1d', join(dir, 'in.txt')]);
      expect(fresh.exitCode).toBe(1);
      expect(fresh.stderr).toBe(`statesync: cannot write database ${join(dir, 'new.db')}: cannot create files in ${dir} (${cause})\n`);
    } finally {
      writable(dir);
    }
    expect(listing(dir)).toEqual(before);
  });

  it('watch --follow sees the windows of a writer that starts after it', async () => {
    const { dir, db } = await databaseAtRest();
    protect(dir);
    try {
      const watcher = spawnReadOnly(dir, ['watch', '--db', db, '--follow', '--format', 'json']);
      const done = collect(watcher, 30_000);
      const out = textOf(watcher.stdout);
      await waitFor('the existing window', () => out().includes('"key":"b"'));
      writable(dir);
      const later = await runCli(['count', '--db', db, '--window', '1d', '--job', 'later', '--quiet'], { input: 'late comer\n' });
      expect(later.exitCode, later.stderr).toBe(0);
      await waitFor('the later window', () => out().includes('"job":"later"'), 15_000);
      watcher.kill('SIGINT');
      const result = await done;
      expect(result.stderr).toBe('');
      expect(
        parseJsonLines(out())
          .filter((r) => r.job === 'later')
          .map((r) => [r.key, r.value]),
      ).toEqual([
        ['comer', 1],
        ['late', 1],
      ]);
    } finally {
      writable(dir);
    }
  });
});

describe('a database this user may not read', () => {
  it('is one line naming it and the cause, exit 1', async () => {
    const { db } = await databaseAtRest();
    const args = ['query', '--db', db];
    let r: CliResult;
    if (asRoot) {
      chmodSync(db, 0o600);
      const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, binPath, ...args], {
        env: cliEnv(),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const done = collect(child);
      child.stdin.end();
      r = await done;
    } else {
      chmodSync(db, 0o000);
      r = await runCli(args);
    }
    chmodSync(db, 0o644);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`statesync: cannot read database ${db}: permission denied\n`);
  });
});
