// Builds dist/statesync: one executable holding Node, the bundled app and
// better-sqlite3's native addon (Node's single-executable applications + postject).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { bundle, root } from './bundle.mjs';

const dist = join(root, 'dist');
const require = createRequire(import.meta.url);
const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');

// Everything in one CommonJS file: inside the executable there is no node_modules to resolve from.
const bundleFile = join(dist, 'statesync.cjs');
await bundle('cjs', bundleFile);

const blob = join(dist, 'statesync.blob');
const seaConfig = join(dist, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify({
    main: bundleFile,
    output: blob,
    disableExperimentalSEAWarning: true,
    useCodeCache: false,
    assets: { 'better_sqlite3.node': addon },
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });

const binary = join(dist, 'statesync');
rmSync(binary, { force: true });
copyFileSync(process.execPath, binary);
chmodSync(binary, 0o755);
try {
  // Node's debug symbols are most of its size; the executable does not need them.
  execFileSync('strip', ['--strip-all', binary], { stdio: 'inherit' });
} catch {
  console.warn('build:binary: strip not available; the executable keeps its symbols');
}
execFileSync(
  process.execPath,
  [
    require.resolve('postject/dist/cli.js'),
    binary,
    'NODE_SEA_BLOB',
    blob,
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { stdio: 'inherit' },
);
rmSync(blob, { force: true });
rmSync(seaConfig, { force: true });
console.log(`build:binary: ${binary}`);
