#!/usr/bin/env node
// Startup: how much longer a short statesync run takes than starting Node itself (issue 15's target:
// `echo a | statesync count` within 1.3x the time of `node -e 0`, for the npm bin and the executable).
//
//   npm run bench:startup                  # builds first; the executable's rows need `npm run build:binary`
//   BENCH_RUNS=41 node bench/startup.mjs   # more rounds (default 21)
//
// Each round runs every case once, in turn, so the machine's drift between minutes hits all cases
// alike; a case's ratio is the median over rounds of its time / `node -e 0`'s time in the same round.
// Plain Node ESM, node: built-ins only.
// Results go to stdout as a table and to bench/results/startup-<timestamp>.json.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'statesync.js');
const EXE = join(ROOT, 'dist', 'statesync');
const NODE = process.execPath;
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const TARGET = 1.3;

if (!Number.isInteger(RUNS) || RUNS < 1) {
  console.error(`bench: BENCH_RUNS=${process.env.BENCH_RUNS} is not a positive integer`);
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist', 'statesync.cjs'))) {
  console.error('bench: dist/ is missing; run `npm run build` first (npm run bench:startup does).');
  process.exit(1);
}

// id, what it runs, stdin; the first is the baseline. `echo a | …` is run as a shell runs it, stdin a
// pipe: the baseline goes through the same shell, so its start is in both. A spawned child's `input`
// would be a socket, not a pipe (libuv makes socketpairs), which a shell user never gives statesync:
// that row is shown for comparison only (statesync reads a socket through node:net, ~5 ms more).
const piped = (...argv) => ['/bin/sh', '-c', 'echo a | "$@"', 'sh', ...argv];
const CASES = [
  { id: 'echo a | node -e 0', argv: piped(NODE, '-e', '0') },
  { id: 'npm bin: echo a | count', argv: piped(NODE, BIN, 'count') },
  { id: 'npm bin: --version', argv: piped(NODE, BIN, '--version') },
  { id: 'npm bin: count, stdin a socket', argv: [NODE, BIN, 'count'], input: 'a\n' },
  ...(existsSync(EXE)
    ? [
        { id: 'executable: echo a | count', argv: piped(EXE, 'count') },
        { id: 'executable: --version', argv: piped(EXE, '--version') },
      ]
    : []),
];

/** Wall milliseconds of one run; a failed run fails the benchmark. */
function timeRun({ id, argv, input }) {
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { input: input ?? '', stdio: ['pipe', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) {
    console.error(`bench: ${id} failed (exit ${r.status ?? r.signal}): ${String(r.stderr).trim()}`);
    process.exit(1);
  }
  return ms;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// One untimed round: the page cache, and the addon the executable writes to ~/.cache on first use.
for (const c of CASES) timeRun(c);
const times = CASES.map(() => []);
for (let round = 0; round < RUNS; round++) CASES.forEach((c, i) => times[i].push(timeRun(c)));

const results = CASES.map((c, i) => ({
  case: c.id,
  medianMs: median(times[i]),
  ratioToNode: i === 0 ? 1 : median(times[i].map((t, round) => t / times[0][round])),
  runsMs: times[i],
}));

const rows = results.map((r) => [r.case, r.medianMs.toFixed(1), r.ratioToNode.toFixed(2)]);
const header = ['case', 'median ms', 'x node -e 0'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(`node ${process.version} | ${os.cpus()[0]?.model ?? 'unknown cpu'} | ${os.availableParallelism()} cores | ${RUNS} rounds`);
console.log([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'));
for (const r of results.filter((x) => x.case.endsWith('echo a | count'))) {
  console.log(`${r.case}: ${r.ratioToNode.toFixed(2)}x node -e 0 (target <= ${TARGET}x)${r.ratioToNode <= TARGET ? '' : ': NOT MET'}`);
}

const resultsDir = join(ROOT, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, `startup-${new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify({ schema: 1, kind: 'startup', node: process.version, cores: os.availableParallelism(), runs: RUNS, results }, null, 2)}\n`);
console.log(`results: ${file}`);
