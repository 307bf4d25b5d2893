// Bundles the CLI with esbuild: one file loads in a fraction of the time of the
// ~50 modules tsc emits. `npm run build` makes dist/statesync.cjs, which the npm bin
// runs, and its code cache; build-binary.mjs makes the one the single executable embeds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
const sqliteVersion = createRequire(import.meta.url)('better-sqlite3/package.json').version;
const cli = join(root, 'src', 'cli', 'entry.ts');

/**
 * format 'cjs' is the CLI's: CommonJS, which Node loads faster than an ES module and which a vm.Script can
 * compile with a code cache (bin/statesync.js; the single executable runs the same file). It holds better-sqlite3's
 * JavaScript too; its native addon stays outside (src/state/sqlite/addon.ts finds it). Format 'esm' is for
 * other entries (bench/run.mjs bundles its commit-latency driver so), with better-sqlite3 left to node_modules.
 */
export async function bundle(format, outfile, entry = cli) {
  const countWorker = await countWorkerSource();
  const emptyDatabase = await emptyDatabaseImage();
  const cjs = format === 'cjs';
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    outfile,
    define: {
      STATESYNC_VERSION: JSON.stringify(version),
      STATESYNC_COUNT_WORKER: JSON.stringify(countWorker),
      STATESYNC_EMPTY_DB: JSON.stringify(emptyDatabase),
      ...(cjs ? { STATESYNC_SQLITE_VERSION: JSON.stringify(sqliteVersion) } : {}),
    },
    external: cjs ? [] : ['better-sqlite3'],
    // bin/statesync.js turns source maps on for --debug, so stacks name the TypeScript sources.
    sourcemap: 'linked',
    // No comments: the file is then plain ASCII (esbuild escapes the rest), which Node reads ~3x faster
    // than UTF-8 with a few non-ASCII characters in it (~3 ms here), and a third smaller.
    minifyWhitespace: true,
    plugins: [lazyBuiltins, noColorDetection],
    ...(cjs
      ? // import.meta only appears on branches the CommonJS bundle never takes.
        { logOverride: { 'empty-import-meta': 'silent' } }
      : // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
        { banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" } }),
    logLevel: 'warning',
  });
  // bin/statesync.js reads the bundle as latin1, which is only right for ASCII (esbuild's default charset).
  if (cjs && /[^\x00-\x7f]/.test(readFileSync(outfile, 'latin1'))) throw new Error(`${outfile} is not plain ASCII`);
}

/**
 * Node built-ins that only some runs use, loaded on first use of one of their exports instead of at start.
 * commander requires node:child_process (~14 ms here, with net and dgram) for executable subcommands, which
 * statesync has none of. src/ takes zlib for gzip input, worker_threads for --threads, dns for network
 * inputs, net for those and for stdin from a pipe, tty (which loads net) for stdin, fs/promises for
 * files: ~8 ms of a start that needs none of them.
 * The stand-in is an empty object whose prototype fetches each property from the module, loading it
 * the first time: esbuild's interop copies a CommonJS module's own properties when an ES module imports
 * it, which would load the module at once; there are none to copy. Enumerating the stand-in finds
 * nothing, which none of these users does; src/ takes named imports, read when called.
 */
const LAZY_BUILTINS = [
  { module: 'child_process', importedBy: (file) => /[\\/]node_modules[\\/]commander[\\/]/.test(file) },
  ...['zlib', 'worker_threads', 'dns', 'net', 'tty', 'fs/promises'].map((module) => ({ module, importedBy: (file) => file.startsWith(join(root, 'src') + sep) })),
];

const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, ({ path, importer }) => {
      const module = path.replace(/^node:/, '');
      const lazy = LAZY_BUILTINS.some((l) => l.module === module && l.importedBy(importer));
      return lazy ? { path: module, namespace: 'lazy-builtin' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, ({ path }) => ({
      contents: `let m;
module.exports = Object.create(new Proxy({}, { get: (_, key) => (m ??= require('node:${path}'))[key] }));`,
      loader: 'js',
    }));
  },
};

/**
 * chalk detects colour support when it loads (its vendored supports-color asks node:tty about fds 1
 * and 2, which loads node:net: ~4 ms of every start). statesync never uses that answer: src/sinks
 * makes each Chalk with an explicit level, from --color and its own terminal check. So the bundle
 * gets a supports-color that answers "no colour" without asking.
 */
const noColorDetection = {
  name: 'no-color-detection',
  setup(b) {
    b.onResolve({ filter: /^#supports-color$/ }, ({ importer }) =>
      /[\\/]node_modules[\\/]chalk[\\/]/.test(importer) ? { path: 'supports-color', namespace: 'no-color-detection' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'no-color-detection' }, () => ({
      contents: 'export default { stdout: false, stderr: false };',
      loader: 'js',
    }));
  },
};

/**
 * The counting thread of --threads (src/threads/count-worker.ts) as one CommonJS script: the CLI
 * starts it from this text (Worker's eval), so neither the npm package nor the executable needs a second file.
 */
async function countWorkerSource() {
  const result = await build({
    entryPoints: [join(root, 'src', 'threads', 'count-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Each thread parses it.
    minifyWhitespace: true,
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

/**
 * A run without --db keeps its state in an in-memory SQLite database. Creating its schema is ~2.5 ms
 * of SQL at every start; the bundle carries the database as SqliteConnection.open leaves it
 * (serialized, its zero runs left out), which opens in ~0.1 ms. Made by that same code, run from source here.
 */
async function emptyDatabaseImage() {
  const result = await build({
    stdin: {
      contents: `import { SqliteConnection } from './connection.ts';
module.exports = SqliteConnection.open(null).db.serialize().toString('base64');`,
      resolveDir: join(root, 'src', 'state', 'sqlite'),
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['better-sqlite3'],
    write: false,
    logLevel: 'warning',
    logOverride: { 'empty-import-meta': 'silent' },
  });
  const module = { exports: '' };
  const here = fileURLToPath(import.meta.url);
  new Function('module', 'require', '__filename', result.outputFiles[0].text)(module, createRequire(here), here);
  return zeroRuns(Buffer.from(module.exports, 'base64'));
}

/**
 * `SIZE OFFSET:BASE64 …`: the bytes that are not in a run of 16 or more zeros, each stretch with its
 * offset (connection.ts rebuilds the rest as zeros). An empty database is mostly zero pages: 68 KB
 * becomes ~19 KB of text, which the code cache holds a second copy of.
 */
function zeroRuns(bytes) {
  const parts = [String(bytes.length)];
  const zerosAt = (from) => {
    let end = from;
    while (end < bytes.length && bytes[end] === 0) end++;
    return end - from;
  };
  for (let at = 0; at < bytes.length; ) {
    const zeros = zerosAt(at);
    if (zeros >= 16 || at + zeros === bytes.length) {
      at += zeros;
      continue;
    }
    let end = at;
    while (end < bytes.length) {
      const run = zerosAt(end);
      if (run >= 16 || end + run === bytes.length) break;
      end += Math.max(run, 1);
    }
    parts.push(`${at}:${bytes.subarray(at, end).toString('base64')}`);
    at = end;
  }
  return parts.join(' ');
}

/**
 * bin/statesync.js writes the code cache when there is none: a sample `count` of a file and of stdin
 * makes it, so it holds what such a run compiles. A cache made without running holds only the top
 * level; the rest is compiled at every start (measured: ~90 ms from the bin to exit against ~55 ms).
 */
export function makeCodeCache(bin, cacheFile) {
  rmSync(cacheFile, { force: true });
  const dir = mkdtempSync(join(tmpdir(), 'statesync-build-'));
  try {
    writeFileSync(join(dir, 'sample.txt'), 'to be or not to be\n');
    // A bare environment: no STATESYNC_DB to write to, no NODE_OPTIONS flags the cache would be tied to.
    execFileSync(process.execPath, [bin, 'count', '--window', '1d', join(dir, 'sample.txt'), '-'], {
      input: 'that is the question\n',
      stdio: ['pipe', 'ignore', 'inherit'],
      env: { PATH: process.env.PATH ?? '' },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outfile = join(root, 'dist', 'statesync.cjs');
  await bundle('cjs', outfile);
  makeCodeCache(join(root, 'bin', 'statesync.js'), `${outfile}.cache`);
}
