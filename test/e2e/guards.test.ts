/**
 * `-o FILE` naming the file stdin is redirected from (`count -o in.txt < in.txt`)
 * is refused like any other input (issue 11, point 6); the other cases are
 * fixture cases (fixtures/cli/usage-*-names-*) and test/unit/guards.test.ts.
 * And inputs that cannot be read (a directory on stdin, a file the user may
 * not read) are refused before anything is read.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binPath, cliEnv, useTempDir } from './helpers.js';

const tmp = useTempDir('guards');

function sh(line: string) {
  return spawnSync('sh', ['-c', line], { cwd: tmp.dir, env: cliEnv({ NODE: process.execPath, BIN: binPath }), encoding: 'utf8' });
}

describe('-o and the file stdin is redirected from', () => {
  it('is refused with exit 2 and the file is untouched', () => {
    writeFileSync(tmp.path('in.txt'), 'to be or not to be\n');
    for (const line of ['"$NODE" "$BIN" count --window 1d -o in.txt < in.txt', '"$NODE" "$BIN" count --window 1d - -o ./in.txt < in.txt']) {
      const r = sh(line);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/^statesync: -o (\.\/)?in\.txt is stdin, one of the inputs; writing it would destroy it \(give another file\)\n$/);
      expect(readFileSync(tmp.path('in.txt'), 'utf8')).toBe('to be or not to be\n');
    }
  });

  it('a pipe on stdin and -o FILE still work', () => {
    const r = sh('printf "a b a\\n" | "$NODE" "$BIN" count --window 1d -o out.tsv');
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(tmp.path('out.tsv'), 'utf8')).toMatch(/\ta\t2\t1\ttrue\n.*\tb\t1\t1\ttrue\n$/);
  });
});
describe('inputs that cannot be read are said before anything is read', () => {
  it('a directory on stdin (count < dir): exit 2, one line', () => {
    const r = sh('mkdir -p adir && "$NODE" "$BIN" count --window 1d < adir');
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', 'statesync: stdin is a directory; redirect a file into it, or pipe text in\n']);
  });

  it('a file the user may not read, after one it may: exit 2, one line, nothing counted', () => {
    // Root reads any file: run as another user (setpriv, util-linux), in a directory it may enter.
    const dir = tmp.newDir();
    for (const d of [tmp.dir, dir]) chmodSync(d, 0o755);
    writeFileSync(join(dir, 'ok.txt'), 'a b\n', { mode: 0o644 });
    writeFileSync(join(dir, 'secret.txt'), 'c\n', { mode: 0o000 });
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, binPath, 'count', '--window', '1d', join(dir, 'ok.txt'), join(dir, 'secret.txt')],
      { env: cliEnv(), encoding: 'utf8' },
    );
    expect([r.status, r.stdout, r.stderr]).toEqual([2, '', `statesync: ${join(dir, 'secret.txt')}: permission denied\n`]);
  });
});
