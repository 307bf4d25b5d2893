#!/usr/bin/env node
// The npm bin: runs the bundled CLI, dist/statesync.cjs (npm run build). Startup is most of a short run's
// time, so this file is CommonJS (bin/package.json says so: an ES module entry starts Node's ESM loader,
// 10-20 ms here) and compiles the bundle with V8's code cache, dist/statesync.cjs.cache. The build makes
// the cache from a sample `count`, so it holds the functions a run compiles, which then need no parsing
// or compiling (Node 20 has no module.enableCompileCache; that is Node 22). A Node that rejects it
// (another version or other flags) compiles as usual and writes a fresh one at exit, if it can.
'use strict';
const { readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const bundle = join(__dirname, '..', 'dist', 'statesync.cjs');
const cacheFile = `${bundle}.cache`;

if (process.argv.includes('--debug') || process.env.STATESYNC_DEBUG === '1') {
  // Stacks name the TypeScript sources. Node reads source maps only in its own loaders (not for a
  // vm.Script), and only when they are on before the bundle loads; a run with --debug goes without the cache.
  process.setSourceMapsEnabled(true);
  require(bundle);
} else {
  runCached();
}

/** Runs the bundle as Node's CommonJS loader would, compiled with the code cache when V8 accepts it. */
function runCached() {
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // latin1: the bundle is plain ASCII (the build checks), and a one-byte string needs no UTF-8 decoding.
  const script = new Script(Module.wrap(readFileSync(bundle, 'latin1')), { filename: bundle, cachedData });
  if (cachedData === undefined || script.cachedDataRejected === true) process.once('exit', () => writeCache(script));
  const module = new Module(bundle);
  module.filename = bundle;
  script.runInThisContext()(module.exports, Module.createRequire(bundle), module, bundle, dirname(bundle));
}

/** After a run, so the functions it compiled are in the cache too. Written whole or not at all; failing is fine. */
function writeCache(script) {
  const partial = `${cacheFile}.${process.pid}.tmp`;
  try {
    writeFileSync(partial, script.createCachedData());
    renameSync(partial, cacheFile);
  } catch {
    // Not writable (a system-wide install): runs go on without the cache.
    rmSync(partial, { force: true });
  }
}
