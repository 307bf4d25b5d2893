/**
 * Snapshots through stdin and stdout (issue 11, points 8 and 9):
 *
 * - `snapshot export` refuses a terminal as stdout, as gzip does (tried through
 *   a real pseudo-terminal made by util-linux `script`), and `snapshot restore -`
 *   refuses a terminal as stdin;
 * - `snapshot export | snapshot restore -` copies a database through a pipe;
 * - a truncated, damaged or empty stream on stdin is refused with one line and
 *   leaves the target byte-identical; an interrupted read changes nothing;
 *   the spooled copy never outlives the command.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { binPath, cliEnv, collect, runCli, runCliOk, spawnCli, useTempDir, waitFor, type CliResult } from './helpers.js';

const tmp = useTempDir('snapshot-stdio');
/** The TMPDIR of every command run here, so a leftover spool file shows. */
let spoolDir: string;

beforeAll(() => {
  spoolDir = tmp.path('tmp');
  mkdirSync(spoolDir);
});

const env = (): NodeJS.ProcessEnv => cliEnv({ TMPDIR: spoolDir, STATESYNC_NOW: '2026-01-01T00:00:00Z' });

/** A shell function `S` standing for the CLI, for command lines with pipes. */
const withCli = (line: string) => `S() { "$NODE" "$BIN" "$@"; }; ${line}`;
const shellEnv = () => ({ ...env(), NODE: process.execPath, BIN: binPath });

/** Runs a shell command line (pipes and all). */
function shell(line: string, input?: Buffer): CliResult {
  const r = spawnSync('sh', ['-c', withCli(line)], { env: shellEnv(), input: input ?? Buffer.alloc(0), cwd: tmp.dir });
  return { stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), exitCode: r.status, signal: r.signal };
}

/** Runs a command line with stdin, stdout and stderr on a pseudo-terminal (util-linux script); all output comes back as stdout. */
function onTerminal(line: string): CliResult {
  const r = spawnSync('script', ['-qec', withCli(line), '/dev/null'], { env: shellEnv(), cwd: tmp.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  return { stdout: r.stdout.toString('latin1'), stderr: r.stderr.toString('utf8'), exitCode: r.status, signal: r.signal };
}

/** The bytes of a database and whether -wal / -shm exist beside it. */
function fingerprint(db: string): string {
  const sides = ['-wal', '-shm'].filter((s) => existsSync(db + s)).join(',');
  return `${createHash('sha256').update(readFileSync(db)).digest('hex')} [${sides}]`;
}

let serial = 0;
/** A new database holding one finalized window of `words` (job `words`). */
async function database(words: string): Promise<string> {
  const db = tmp.path(`db-${serial++}.db`);
  const r = await runCli(['count', '--db', db, '--window', '1d', '--job', 'words', '--quiet'], {
    input: `${words}\n`,
    env: { STATESYNC_NOW: '2026-01-01T00:00:00Z' },
  });
  expect(r.exitCode, r.stderr).toBe(0);
  return db;
}

const query = async (db: string) => (await runCliOk(['query', '--db', db, '--format', 'json'])).stdout;

describe('snapshot export onto a terminal', () => {
  it('is refused with exit 2 and one line saying to use -o or a pipe; nothing binary reaches the terminal', async () => {
    const db = await database('a b a');
    for (const line of [`S snapshot export --db ${JSON.stringify(db)}`, `S snapshot export --db ${JSON.stringify(db)} -o -`]) {
      const r = onTerminal(line);
      expect(r.exitCode, r.stdout).toBe(2);
      expect(r.stdout).toBe(
        'statesync: refusing to write a binary snapshot to a terminal; give -o FILE or pipe it into a file or command\r\n',
      );
    }
  });

  it('still writes to -o FILE or a pipe when run from a terminal', async () => {
    const db = await database('a b a');
    const snap = tmp.path(`t-${serial}.snap`);
    expect(onTerminal(`S snapshot export --db ${JSON.stringify(db)} -o ${JSON.stringify(snap)}`).exitCode).toBe(0);
    expect(onTerminal(`S snapshot export --db ${JSON.stringify(db)} | cat > ${JSON.stringify(`${snap}.piped`)}`).exitCode).toBe(0);
    for (const file of [snap, `${snap}.piped`]) {
      expect(readFileSync(file).subarray(0, 21).toString('latin1')).toBe('STATESYNC-SNAPSHOT 1\n');
    }
  });
});

describe('snapshot restore -', () => {
  it('restores what snapshot export pipes into it; query agrees', async () => {
    const from = await database('to be or not to be');
    const to = tmp.path(`copy-${serial++}.db`);
    const r = shell(`S snapshot export --db ${JSON.stringify(from)} | S snapshot restore - --db ${JSON.stringify(to)}`);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toBe(`statesync: restored 1 job, 0 open, 1 provisional and 0 finalized windows into ${to}\n`);
    expect(await query(to)).toBe(await query(from));
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('refuses a truncated, damaged, foreign or empty stream with one line naming stdin; the target is left byte-identical', async () => {
    const from = await database('a b a');
    const target = await database('x y z');
    const before = fingerprint(target);
    const raw = spawnSync(process.execPath, [binPath, 'snapshot', 'export', '--db', from], { env: env() }).stdout;
    expect(raw.subarray(0, 21).toString('latin1')).toBe('STATESYNC-SNAPSHOT 1\n');
    const damaged = Buffer.from(raw);
    damaged[raw.length - 100] ^= 0xff;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated', raw.subarray(0, raw.length - 1000), /^statesync: stdin is truncated or padded: the header announces \d+ payload bytes, the file holds \d+\n$/],
      ['cut in the header', raw.subarray(0, 30), /^statesync: stdin is truncated: its header is incomplete\n$/],
      ['damaged', damaged, /^statesync: stdin is corrupt: its checksum does not match its header and content\n$/],
      ['foreign', readFileSync(from), /^statesync: stdin is not a statesync snapshot \(no snapshot header\)\n$/],
      ['empty', Buffer.alloc(0), /^statesync: stdin is empty, not a statesync snapshot\n$/],
    ];
    for (const [what, input, message] of cases) {
      const r = shell(`S snapshot restore - --db ${JSON.stringify(target)}`, input);
      expect(r.exitCode, what).toBe(2);
      expect(r.stderr, what).toMatch(message);
      expect(fingerprint(target), what).toBe(before);
      expect(readdirSync(spoolDir), what).toEqual([]);
    }
  });

  it('interrupted while reading stdin: exit 130, nothing restored, nothing left behind', async () => {
    const target = await database('x y z');
    const before = fingerprint(target);
    const child = spawnCli(['snapshot', 'restore', '-', '--db', target], { env: { TMPDIR: spoolDir, STATESYNC_NOW: '2026-01-01T00:00:00Z' } });
    const done = collect(child);
    child.stdin.write('STATESYNC-SNAPSHOT 1\n{"format":');
    await waitFor('the spool file', () => (readdirSync(spoolDir).length > 0 ? true : undefined));
    child.kill('SIGINT');
    const r = await done;
    expect(r.exitCode, r.stderr).toBe(130);
    expect(r.stderr).toBe('');
    expect(fingerprint(target)).toBe(before);
    expect(readdirSync(spoolDir)).toEqual([]);
  });

  it('refuses a terminal as stdin, as gzip -d does', async () => {
    const target = await database('x y z');
    const before = fingerprint(target);
    const r = onTerminal(`S snapshot restore - --db ${JSON.stringify(target)}`);
    expect(r.exitCode, r.stdout).toBe(2);
    expect(r.stdout).toBe("statesync: refusing to read a binary snapshot from a terminal; pipe it in, or give the snapshot's FILE\r\n");
    expect(fingerprint(target)).toBe(before);
  });
});

// A file argument still works as before, beside '-'.
describe('snapshot restore FILE', () => {
  it('is unchanged', async () => {
    const from = await database('a b a');
    const snap = tmp.path(`f-${serial++}.snap`);
    await runCliOk(['snapshot', 'export', '--db', from, '-o', snap]);
    const to = tmp.path(`f-${serial++}.db`);
    await runCliOk(['snapshot', 'restore', snap, '--db', to]);
    expect(await query(to)).toBe(await query(from));
    writeFileSync(tmp.path('junk.snap'), 'junk\n');
    const bad = await runCli(['snapshot', 'restore', tmp.path('junk.snap'), '--db', to]);
    expect(bad.stderr).toBe(`statesync: ${tmp.path('junk.snap')} is not a statesync snapshot (no snapshot header)\n`);
  });
});
