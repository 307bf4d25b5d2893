// Bundles the CLI with esbuild: one file loads in a fraction of the time of the
// ~50 modules tsc emits. `npm run build` makes the ESM bundle the npm bin runs;
// build-binary.mjs makes the CommonJS one the single executable embeds.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;

/**
 * format 'esm' keeps better-sqlite3 external (resolved from node_modules); 'cjs' bundles everything.
 * `entry` is the CLI unless given (bench/run.mjs bundles its commit-latency driver the same way).
 */
export async function bundle(format, outfile, entry = join(root, 'src', 'cli', 'entry.ts')) {
  const countWorker = await countWorkerSource();
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format,
    target: 'node20',
    outfile,
    define: { STATESYNC_VERSION: JSON.stringify(version), STATESYNC_COUNT_WORKER: JSON.stringify(countWorker) },
    ...(format === 'esm'
      ? {
          // The native addon is found next to its own package, so it stays a real import.
          external: ['better-sqlite3'],
          // bin/statesync.js turns source maps on for --debug, so stacks name the TypeScript sources.
          sourcemap: 'linked',
          // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
          banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
        }
      : // import.meta only appears on branches the CommonJS bundle never takes.
        { logOverride: { 'empty-import-meta': 'silent' } }),
    logLevel: 'warning',
  });
}

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
    write: false,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundle('esm', join(root, 'dist', 'statesync.mjs'));
}
