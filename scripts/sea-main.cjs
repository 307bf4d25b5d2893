// The single executable's main script: runs the bundle the npm bin runs (dist/statesync.cjs, an asset here)
// with its code cache (also an asset), exactly as bin/statesync.js does: the same wrapper, so V8 takes the
// cache. The cache holds the functions a sample `count` compiled; Node's own `useCodeCache` would hold only
// the bundle's top level, and the rest would be compiled at every start (measured: ~1.5x `node -e 0` against ~1.2x).
'use strict';
const { getAsset } = require('node:sea');
const Module = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');

const script = new Script(Module.wrap(getAsset('statesync.cjs', 'utf8')), {
  filename: 'statesync.cjs',
  cachedData: Buffer.from(getAsset('statesync.cjs.cache')),
});
const bundleModule = { exports: {} };
// This `require` loads Node's built-ins only; the bundle needs nothing else.
script.runInThisContext()(bundleModule.exports, require, bundleModule, process.execPath, dirname(process.execPath));
