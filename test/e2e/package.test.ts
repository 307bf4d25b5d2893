/**
 * What `npm pack` ships (issue 11, point 21): the npm bin and the bundle it
 * loads (with its source map, for --debug stacks, and its code cache), never
 * what `npm run build:binary` leaves in dist/ (the ~89 MB executable, or the
 * half-built blob and config of an interrupted build). Packed from a copy of
 * the package holding stand-ins for those files, so no binary needs building.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, useTempDir } from './helpers.js';

const tmp = useTempDir('pack');
beforeAll(() => {
  const dir = tmp.dir;
  for (const name of ['package.json', 'README.md', 'bin', '.npmignore']) {
    if (existsSync(join(repoRoot, name))) cpSync(join(repoRoot, name), join(dir, name), { recursive: true });
  }
  mkdirSync(join(dir, 'dist', 'sea'), { recursive: true });
  for (const name of ['statesync.cjs', 'statesync.cjs.map', 'statesync.cjs.cache', 'statesync', 'sea/statesync.blob', 'sea/sea-config.json']) {
    writeFileSync(join(dir, 'dist', name), `stand-in for ${name}\n`);
  }
});

describe('npm pack', () => {
  it('ships bin/ and the bundle with its map and code cache, not the single executable or its parts', () => {
    // --ignore-scripts: `prepare` would build; the stand-ins are what is being packed.
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: tmp.dir,
      encoding: 'utf8',
      env: { ...process.env, npm_config_loglevel: 'silent', npm_config_update_notifier: 'false' },
    });
    const [pack] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
    expect(pack!.files.map((f) => f.path).sort()).toEqual([
      'README.md',
      'bin/package.json',
      'bin/statesync.js',
      'dist/statesync.cjs',
      'dist/statesync.cjs.cache',
      'dist/statesync.cjs.map',
      'package.json',
    ]);
  });
});
