// Builds dist/statesync: one executable holding Node, the bundle the npm bin runs (npm run build makes
// it) with its code cache, and better-sqlite3's native addon (Node's single-executable applications + postject).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { makeCodeCache, root } from './bundle.mjs';

const dist = join(root, 'dist');
if (!existsSync(join(dist, 'statesync.cjs'))) throw new Error("build:binary: dist/statesync.cjs is missing: run 'npm run build' first");
// Made again: a run under other flags or another Node may have replaced the one the build made.
makeCodeCache(join(root, 'bin', 'statesync.js'), join(dist, 'statesync.cjs.cache'));
const require = createRequire(import.meta.url);
const addon = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
// Names the addon's file in the per-user cache (src/state/sqlite/addon.ts); hashing ~2 MB at every start took a few ms.
const addonHash = createHash('sha256').update(readFileSync(addon)).digest('hex').slice(0, 16);

// The intermediate files, removed at the end.
const work = join(dist, 'sea');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const addonHashFile = join(work, 'better_sqlite3.node.sha256');
writeFileSync(addonHashFile, addonHash);

const blob = join(work, 'statesync.blob');
const seaConfig = join(work, 'sea-config.json');
writeFileSync(
  seaConfig,
  JSON.stringify({
    // A few lines that run the bundle with its code cache (see there why not `useCodeCache`).
    main: join(root, 'scripts', 'sea-main.cjs'),
    output: blob,
    disableExperimentalSEAWarning: true,
    // The bundle holds everything else: inside the executable there is no node_modules to resolve from.
    assets: {
      'statesync.cjs': join(dist, 'statesync.cjs'),
      'statesync.cjs.cache': join(dist, 'statesync.cjs.cache'),
      'better_sqlite3.node': addon,
      'better_sqlite3.node.sha256': addonHashFile,
    },
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
rmSync(work, { recursive: true, force: true });
console.log(`build:binary: ${binary}`);
