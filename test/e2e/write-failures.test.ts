/**
 * Writes the system refuses: a read-only file system and a full disk. Root
 * ignores file modes, so each run gets a real read-only (or tiny) tmpfs in a
 * private mount namespace (`unshare -rm`), which neither root nor anyone else
 * can write past and which vanishes with the process. CI runs as root on
 * Linux, where this works; it is never skipped.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { binPath, cliEnv, collect, queryTotals, runCli, runCliOk, useTempDir, type CliResult } from './helpers.js';

const tmp = useTempDir('write-failures');

/** The script run inside the namespace: mount a tmpfs with options $1 on $2, then become the CLI. */
const MOUNT_THEN_RUN = 'mount -t tmpfs -o "$1" none "$2" || exit 99; shift 2; exec "$@"';

/** Runs statesync with a fresh tmpfs (mount options `options`) at `mountPoint`, seen only by this process. */
function runWithMount(options: string, mountPoint: string, args: readonly string[], input = ''): Promise<CliResult> {
  const child = spawn(
    'unshare',
    ['-rm', 'sh', '-c', MOUNT_THEN_RUN, 'sh', options, mountPoint, process.execPath, binPath, ...args],
    { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] },
  ) as ChildProcessWithoutNullStreams;
  child.stdin.on('error', () => undefined);
  const done = collect(child);
  child.stdin.end(input);
  return done;
}

describe('writes the system refuses: exit 1, one line naming the path and the cause', () => {
  let db: string;
  let ro: string;
  beforeAll(async () => {
    db = tmp.path('state.db');
    ro = tmp.path('ro');
    mkdirSync(ro);
    const input = tmp.path('in.txt');
    await writeFile(input, 'a b a\n');
    await runCliOk(['count', input, '--db', db, '--window', '1d', '--quiet']);
  });

  it('snapshot export -o into a read-only file system', async () => {
    const target = join(ro, 'x.snap');
    const result = await runWithMount('ro', ro, ['snapshot', 'export', '--db', db, '-o', target]);
    expect(result.stderr).toBe(`statesync: cannot write ${target}: read-only file system\n`);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    // Nothing was left behind beside the database either, and the state is untouched.
    expect(readdirSync(tmp.dir).filter((name) => name.startsWith('.statesync-export'))).toEqual([]);
    expect(await queryTotals(db)).toEqual(new Map([['a', 2], ['b', 1]]));
  });

  it('-o FILE for results in a read-only file system', async () => {
    const target = join(ro, 'out.tsv');
    const result = await runWithMount('ro', ro, ['count', '--window', '1d', '-o', target], 'a b\n');
    expect(result.stderr).toBe(`statesync: cannot write ${target}: read-only file system\n`);
    expect(result.exitCode).toBe(1);
  });

  it('--late-output in a read-only file system', async () => {
    const target = join(ro, 'late.txt');
    const args = ['count', '--key', 'field=2', '--time', 'field=1', '--window', '1d', '--late-output', target];
    const result = await runWithMount('ro', ro, args, '0 a\n');
    expect(result.stderr).toBe(`statesync: cannot write ${target}: read-only file system\n`);
    expect(result.exitCode).toBe(1);
  });

  it('a database on a full disk', async () => {
    const small = tmp.path('small');
    mkdirSync(small);
    const words = tmp.path('many.txt');
    let text = '';
    for (let i = 0; i < 20_000; i++) text += `key${i}\n`;
    await writeFile(words, text);
    const target = join(small, 'full.db');
    const result = await runWithMount('size=256k', small, ['count', words, '--db', target, '--window', '1d', '--quiet']);
    expect(result.stderr).toBe(`statesync: cannot write ${target}: database or disk is full\n`);
    expect(result.exitCode).toBe(1);
    // The mount was private to that process: nothing of it is left here.
    expect(existsSync(target)).toBe(false);
  });

  it('-o on a full device: the other outputs still get every line (the reject file here)', async () => {
    const rejects = tmp.path('rejects.txt');
    const result = await runCli(
      ['sum', '--key', 'field=1', '--value', 'field=2', '--window', '1d', '-o', '/dev/full', '--reject-output', rejects],
      { input: 'a 1\nb x\nc 2\nd y\n' },
    );
    expect([result.exitCode, result.stderr]).toEqual([1, 'statesync: cannot write /dev/full: no space left on device\n']);
    expect(await readFile(rejects, 'utf8')).toBe('bad value\tstdin\t4\tb x\nbad value\tstdin\t12\td y\n');
  });
});
