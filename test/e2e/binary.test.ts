/**
 * The single executable (npm run build:binary): built once here, then run the
 * way a user would, from another directory, with no node on PATH and no
 * node_modules anywhere near it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, useTempDir } from './helpers.js';

describe('the single executable', () => {
  const tmp = useTempDir('binary');
  let binary: string;

  beforeAll(() => {
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build-binary.mjs')], { cwd: repoRoot, stdio: 'pipe' });
    binary = tmp.path('statesync');
    copyFileSync(join(repoRoot, 'dist', 'statesync'), binary);
  }, 180_000);

  /** Runs the binary in its own directory with a minimal environment: no node on PATH. */
  function run(args: string[], input = '') {
    return spawnSync(binary, args, {
      cwd: tmp.dir,
      input,
      encoding: 'utf8',
      env: { PATH: '/nonexistent', HOME: tmp.dir, STATESYNC_NOW: '2026-01-01T00:00:00Z' },
    });
  }

  it('prints its version and nothing on stderr', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^statesync \d+\.\d+\.\d+\n$/);
    expect(r.stderr).toBe('');
  });

  it('counts words from stdin', () => {
    const r = run(['count', '--window', '1d'], 'to be or not to be\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      [
        ['be', 2],
        ['to', 2],
        ['not', 1],
        ['or', 1],
      ]
        .map(([k, v]) => `2026-01-01T00:00:00.000Z\t2026-01-02T00:00:00.000Z\t${k}\t${v}\t1\ttrue\n`)
        .join(''),
    );
  });

  it('keeps state in a --db and reads it back (SQLite addon loaded from the embedded asset)', () => {
    expect(run(['count', '--db', 'state.db', '--window', '1d', '--quiet'], 'a b a\n').status).toBe(0);
    const q = run(['query', '--db', 'state.db', '--format', 'csv']);
    expect(q.stderr).toBe('');
    expect(q.stdout).toBe(
      'window_start,window_end,key,value,state\n' +
        '2026-01-01T00:00:00.000Z,2026-01-02T00:00:00.000Z,a,2,provisional\n' +
        '2026-01-01T00:00:00.000Z,2026-01-02T00:00:00.000Z,b,1,provisional\n',
    );
  });
});
