#!/usr/bin/env node
// The npm bin: the bundled CLI (npm run build), which starts faster than the ~50 modules tsc would emit.
// Source maps are read when a module loads, so --debug must turn them on before the bundle is imported.
if (process.argv.includes('--debug') || process.env.STATESYNC_DEBUG === '1') process.setSourceMapsEnabled(true);
await import('../dist/statesync.mjs');
