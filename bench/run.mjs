#!/usr/bin/env node
// statesync benchmark suite.
//
//   npm run bench                              # full run: 100 MB corpora, 3 runs per case
//   BENCH_MB=10 BENCH_RUNS=1 node bench/run.mjs  # quick run while developing
//
// Environment:
//   BENCH_MB         corpus size in MB (10^6 bytes), default 100. Non-default sizes use
//                    their own file names (words-50k-20mb.txt), so they never clobber the
//                    full-size corpora.
//   BENCH_RUNS       timed runs per case and corpus, default 3; the median is reported.
//   BENCH_CASES      comma-separated case ids to run (default: all), e.g. "mawk,statesync-memory".
//   BENCH_CORPORA    comma-separated corpus ids to run (default: all), e.g. "1m".
//   BENCH_TIMEOUT_S  per-process timeout in seconds, default 1800.
//   BENCH_NO_VERIFY  set to 1 to skip the correctness check.
//   BENCH_THREADS    comma-separated thread counts for extra statesync-durable-Nthreads cases
//                    (the scaling curve beyond one thread and the default), e.g. "2,4".
//
// Plain Node ESM, node: built-ins only. Cases run sequentially (the reference machine
// has 2 cores). Results go to stdout as a table and to bench/results/<timestamp>.json.
// The PostgreSQL cases start a throwaway server of their own (bench/pg.mjs); the
// commit-latency cases bundle bench/commit-latency.ts with esbuild (a devDependency).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { ensureCorpus, ensureValueCorpus } from './corpus.mjs';
import { serverBinDir, startPostgres } from './pg.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCH_DIR = join(ROOT, 'bench');
const CORPUS_DIR = join(BENCH_DIR, 'corpus');
const RESULTS_DIR = join(BENCH_DIR, 'results');
const STATESYNC = join(ROOT, 'bin', 'statesync.js');
// Inside dist/ so that its external import of better-sqlite3 resolves from the repository's node_modules.
const LATENCY_DRIVER = join(ROOT, 'dist', 'bench', 'commit-latency.mjs');
const NODE = process.execPath;
const MB = 1e6;

// ---------------------------------------------------------------------------
// Configuration

function numberEnv(name, fallback, { integer = false } = {}) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    console.error(`bench: ${name}=${raw} is not a positive ${integer ? 'integer' : 'number'}`);
    process.exit(2);
  }
  return n;
}

function listEnv(name) {
  const raw = process.env[name];
  if (!raw) return null;
  return new Set(raw.split(',').map((s) => s.trim()).filter(Boolean));
}

const SIZE_MB = numberEnv('BENCH_MB', 100);
const RUNS = numberEnv('BENCH_RUNS', 3, { integer: true });
const TIMEOUT_S = numberEnv('BENCH_TIMEOUT_S', 1800);
const ONLY_CASES = listEnv('BENCH_CASES');
const ONLY_CORPORA = listEnv('BENCH_CORPORA');
const VERIFY = process.env.BENCH_NO_VERIFY !== '1';

// The awk program every awk case runs: count words, print the number of distinct ones.
const AWK_PROG = '{for(i=1;i<=NF;i++)c[$i]++} END{for(k in c) n++; print n}';

// ---------------------------------------------------------------------------
// Corpora. `file` is relative to bench/corpus/. The 100 MB names are fixed (other
// tooling may refer to them); other sizes get a size suffix.

const CORPORA = [
  { id: '50k', vocabulary: 50_000, seed: 42 },
  { id: '1m', vocabulary: 1_000_000, seed: 42 },
].map((c) => ({
  ...c,
  bytes: Math.round(SIZE_MB * MB),
  file: join(CORPUS_DIR, SIZE_MB === 100 ? `words-${c.id}.txt` : `words-${c.id}-${SIZE_MB}mb.txt`),
}));

// ---------------------------------------------------------------------------
// Cases. Each case is one row per corpus in the table.
//
//   id        stable identifier (used in JSON, BENCH_CASES, and for comparisons across runs)
//   label     human-readable description
//   requires  executables that must be on PATH; if one is missing the case is skipped and noted
//   corpora   optional list of corpus ids the case applies to (default: all)
//   postgres  true: the case needs the benchmark's PostgreSQL server (ctx.pg); skipped with a
//             note when no server is installed
//   latency   true: the case reports commit latency (run() returns `commitMs`, one sample per
//             commit); its time and MB/s columns are the driver's whole run and are not shown
//   output    what the process prints on stdout, for cross-checking between tools:
//             'distinct' (number of distinct words) or 'words' (total words, `wc -w`)
//   command(ctx) -> { argv, env?, cleanup? }
//             a single process, timed and RSS-measured by the generic runner; `cleanup`
//             runs after every run (timed or not) and is not included in the time.
//   run(ctx) -> Promise<{ seconds, peakRssKB, stdout?, error? }>
//             alternative to `command` for cases that need several processes or phases;
//             use ctx.measure(argv, opts) / ctx.measureConcurrently([...]) to time them.
//
// ctx = { corpus, file, bytes, tmpDir, runIndex, node, statesync, measure, measureConcurrently, pg }
// ctx.pg (postgres cases only) = { version, url(db), createDatabase(name), dropDatabase(name) }

const CASES = [
  {
    id: 'statesync-durable',
    label: 'statesync count --db (WAL, fresh db)',
    requires: [],
    command: (ctx) => {
      const db = join(ctx.tmpDir, `durable-${ctx.corpus.id}-${ctx.runIndex}.db`);
      return {
        argv: [ctx.node, ctx.statesync, 'count', ctx.file, '--db', db, '--window', '1h', '--quiet'],
        cleanup: () => removeDb(db),
      };
    },
  },
  // Issue 15: statesync-durable counts on one thread per core (the default, at most 8); these
  // give the scaling curve (one thread, and each thread count in BENCH_THREADS) and the pipe case.
  {
    id: 'statesync-durable-1thread',
    label: 'statesync count --db --threads 1',
    requires: [],
    command: (ctx) => durableWithThreads(ctx, 1),
  },
  ...(process.env.BENCH_THREADS ?? '')
    .split(',')
    .filter(Boolean)
    .map((n) => ({
      id: `statesync-durable-${n}threads`,
      label: `statesync count --db --threads ${n}`,
      requires: [],
      command: (ctx) => durableWithThreads(ctx, Number(n)),
    })),
  {
    id: 'statesync-pipe',
    label: 'cat FILE | statesync count --db',
    requires: ['sh', 'cat'],
    command: (ctx) => {
      const db = join(ctx.tmpDir, `pipe-${ctx.corpus.id}-${ctx.runIndex}.db`);
      const count = [ctx.node, ctx.statesync, 'count', '--db', db, '--window', '1h', '--quiet'].map(shellQuote).join(' ');
      return { argv: ['sh', '-c', `cat ${shellQuote(ctx.file)} | ${count}`], cleanup: () => removeDb(db) };
    },
  },
  {
    id: 'statesync-memory',
    label: 'statesync count (in-memory)',
    requires: [],
    command: (ctx) => ({
      argv: [ctx.node, ctx.statesync, 'count', ctx.file, '--window', '1h', '--quiet'],
    }),
  },
  {
    id: 'mawk',
    label: 'mawk word count',
    requires: ['mawk'],
    output: 'distinct',
    command: (ctx) => ({ argv: ['mawk', AWK_PROG, ctx.file] }),
  },
  {
    id: 'gawk',
    label: 'gawk word count',
    requires: ['gawk'],
    output: 'distinct',
    command: (ctx) => ({ argv: ['gawk', AWK_PROG, ctx.file] }),
  },
  {
    id: 'sort-uniq',
    label: "tr | sort | uniq -c | wc -l",
    requires: ['sh', 'tr', 'sort', 'uniq', 'wc'],
    output: 'distinct',
    command: (ctx) => ({
      argv: ['sh', '-c', `tr -s ' ' '\\n' < ${shellQuote(ctx.file)} | sort | uniq -c | wc -l`],
    }),
  },
  {
    id: 'wc-w',
    label: 'wc -w (tokenizing floor)',
    requires: ['wc'],
    output: 'words',
    command: (ctx) => ({ argv: ['wc', '-w', ctx.file] }),
  },

  {
    // Issue 4's scaling case: two workers on one database, half the corpus (by lines) each,
    // started together; time until both exit, RSS summed. Compare with statesync-durable.
    id: 'statesync-2proc',
    label: 'two statesync workers, one --db, half the corpus each',
    requires: [],
    run: async (ctx) => {
      const db = join(ctx.tmpDir, `2proc-${ctx.corpus.id}-${ctx.runIndex}.db`);
      try {
        return await ctx.measureConcurrently((await splitCorpus(ctx, 2)).map((file) => countArgv(ctx, file, db)));
      } finally {
        await removeDb(db);
      }
    },
  },

  {
    // The same scaling with three workers: the corpus split in three by lines. Compare with
    // statesync-durable, and with statesync-pg-3proc (the same on PostgreSQL).
    id: 'statesync-3proc',
    label: 'three statesync workers, one --db, a third of the corpus each',
    requires: [],
    run: async (ctx) => {
      const db = join(ctx.tmpDir, `3proc-${ctx.corpus.id}-${ctx.runIndex}.db`);
      try {
        return await ctx.measureConcurrently((await splitCorpus(ctx, 3)).map((file) => countArgv(ctx, file, db)));
      } finally {
        await removeDb(db);
      }
    },
  },

  // Issue 14: state in PostgreSQL, on the benchmark's own throwaway server (bench/pg.mjs), a
  // fresh database per run, created and dropped outside the timing. Peak RSS is statesync's
  // alone: the server's processes are not counted. Target: statesync-pg within 1.3x the time
  // of statesync-durable.
  {
    id: 'statesync-pg',
    label: 'statesync count --db postgres://… (fresh database)',
    requires: [],
    corpora: ['50k'],
    postgres: true,
    run: (ctx) => withPgDatabase(ctx, 'pg', (url) => ctx.measure(countArgv(ctx, ctx.file, url))),
  },
  {
    // Three workers in parallel on one PostgreSQL database, the same job, a third of the corpus each.
    id: 'statesync-pg-3proc',
    label: 'three statesync workers, one postgres:// database, a third of the corpus each',
    requires: [],
    corpora: ['50k'],
    postgres: true,
    run: async (ctx) => {
      const thirds = await splitCorpus(ctx, 3);
      return withPgDatabase(ctx, 'pg3', (url) => ctx.measureConcurrently(thirds.map((file) => countArgv(ctx, file, url))));
    },
  },

  // Commit latency through the state port (bench/commit-latency.ts drives StateStore.commit with
  // batches shaped like a word-count worker's: 3 windows, each the delta of 8 MB of the corpus,
  // ~46k keys). One sample per commit; the table shows percentiles over all runs' samples.
  {
    id: 'commit-latency-sqlite',
    label: 'StateStore.commit latency, SQLite file',
    requires: [],
    corpora: ['50k'],
    latency: true,
    run: async (ctx) => {
      const db = join(ctx.tmpDir, `latency-${ctx.runIndex}.db`);
      try {
        return await commitLatency(ctx, db);
      } finally {
        await removeDb(db);
      }
    },
  },
  {
    id: 'commit-latency-pg',
    label: 'StateStore.commit latency, PostgreSQL',
    requires: [],
    corpora: ['50k'],
    postgres: true,
    latency: true,
    run: (ctx) => withPgDatabase(ctx, 'latency', (url) => commitLatency(ctx, url)),
  },

  // Issue 16: quantile and distinct over the corpus with a generated value column in front of every
  // line (bench/corpus.mjs ensureValueCorpus): per first word (field 2), the quantiles of the value
  // (field 1), and the number of distinct second words (field 3); against GNU datamash, which sorts
  // and groups (-s -g), computing perc:99 and countunique. Skipped when datamash is not installed.
  {
    id: 'statesync-quantile',
    label: 'statesync quantile --db (p50, p90, p99 of a value column)',
    requires: [],
    corpora: ['50k'],
    run: async (ctx) => sketchRun(ctx, ['quantile', '--key', 'field=2', '--value', 'field=1']),
  },
  {
    id: 'datamash-perc99',
    label: 'datamash -s -g 2 perc:99 1',
    requires: ['datamash', 'sh'],
    corpora: ['50k'],
    run: async (ctx) => ctx.measure(['sh', '-c', `datamash -W --no-strict -s -g 2 perc:99 1 < ${shellQuote(await valueCorpus(ctx))}`]),
  },
  {
    id: 'statesync-distinct',
    label: 'statesync distinct --db (distinct second words per first word)',
    requires: [],
    corpora: ['50k'],
    run: async (ctx) => sketchRun(ctx, ['distinct', '--key', 'field=2', '--value', 'field=3']),
  },
  {
    id: 'datamash-countunique',
    label: 'datamash -s -g 2 countunique 3',
    requires: ['datamash', 'sh'],
    corpora: ['50k'],
    run: async (ctx) => ctx.measure(['sh', '-c', `datamash -W --no-strict -s -g 2 countunique 3 < ${shellQuote(await valueCorpus(ctx))}`]),
  },

  // Issue 6's scale case: a state holding 1,000,000 keys (one finalized window of a
  // `--key line` count over 1M distinct lines, built once per run outside the timing),
  // then `snapshot export` and `snapshot restore` into a fresh database, timed separately.
  {
    id: 'snapshot-export-1m-keys',
    label: 'statesync snapshot export, 1M keys',
    requires: [],
    corpora: ['50k'],
    run: async (ctx) => {
      const { db, snap } = await snapshotState(ctx);
      try {
        return await ctx.measure([ctx.node, ctx.statesync, 'snapshot', 'export', '--db', db, '-o', snap]);
      } finally {
        await rm(snap, { force: true });
      }
    },
  },
  {
    id: 'snapshot-restore-1m-keys',
    label: 'statesync snapshot restore, 1M keys, fresh db',
    requires: [],
    corpora: ['50k'],
    run: async (ctx) => {
      const { db, snap } = await snapshotState(ctx);
      const target = join(ctx.tmpDir, `restored-${ctx.runIndex}.db`);
      const exported = await ctx.measure([ctx.node, ctx.statesync, 'snapshot', 'export', '--db', db, '-o', snap]);
      if (exported.error) return exported;
      try {
        return await ctx.measure([ctx.node, ctx.statesync, 'snapshot', 'restore', snap, '--db', target]);
      } finally {
        await rm(snap, { force: true });
        await removeDb(target);
      }
    },
  },
];

// The case every other case's time is divided by, on the same corpus.
const BASELINE_CASE = 'mawk';

// ---------------------------------------------------------------------------
// Helpers

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** The corpus with a value column (made once, outside any timing: the first call generates it). */
async function valueCorpus(ctx) {
  const path = ctx.file.replace(/\.txt$/, '-values.txt');
  if (!existsSync(path)) log(`generating ${relative(ROOT, path)} (the ${ctx.corpus.id} corpus with a value column) ...`);
  return ensureValueCorpus(ctx.file, path);
}

/** One durable statesync sketch job over the value corpus, in a fresh database. */
async function sketchRun(ctx, args) {
  const file = await valueCorpus(ctx);
  const db = join(ctx.tmpDir, `${args[0]}-${ctx.corpus.id}-${ctx.runIndex}.db`);
  try {
    return await ctx.measure([ctx.node, ctx.statesync, args[0], file, ...args.slice(1), '--db', db, '--window', '1h', '--quiet']);
  } finally {
    removeDb(db);
  }
}

function removeDb(db) {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(db + suffix, { force: true });
}

const commandCache = new Map();
function haveCommand(name) {
  if (!commandCache.has(name)) {
    const r = spawnSync('sh', ['-c', `command -v ${shellQuote(name)}`], { encoding: 'utf8' });
    commandCache.set(name, r.status === 0 && r.stdout.trim() !== '');
  }
  return commandCache.get(name);
}

function firstLine(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return (r.stdout || r.stderr).split('\n')[0].trim() || null;
}

/** GNU time, which reports the peak RSS of the child (and of its waited-for descendants). */
const GNU_TIME = (() => {
  const path = '/usr/bin/time';
  if (!existsSync(path)) return null;
  const r = spawnSync(path, ['--version'], { encoding: 'utf8' });
  return /GNU/.test(`${r.stdout}${r.stderr}`) ? path : null;
})();

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const log = (...args) => console.error(...args);

// Process groups we started and have not reaped yet, so a timeout or Ctrl-C can stop
// them (and their children, e.g. the command under /usr/bin/time) by id.
const liveGroups = new Set();
let timeFileSeq = 0;

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/**
 * Runs argv once, measuring wall time (hrtime around spawn..exit) and peak RSS
 * (GNU time's %M, else polling /proc/<pid>/status VmHWM of the direct child).
 * stdout: 'capture' keeps the first 64 KiB; a function receives the stream instead.
 */
async function measure(argv, { env, timeoutS = TIMEOUT_S, stdout = 'capture', tmpDir } = {}) {
  const timeFile = GNU_TIME ? join(tmpDir ?? os.tmpdir(), `time-${process.pid}-${++timeFileSeq}.txt`) : null;
  const full = GNU_TIME ? [GNU_TIME, '-f', '%e %M', '-o', timeFile, ...argv] : argv;
  const started = process.hrtime.bigint();
  const child = spawn(full[0], full.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
    detached: true, // own process group, so a timeout kills the whole tree
  });
  liveGroups.add(child.pid);

  let out = '';
  let err = '';
  let consumer = null;
  if (typeof stdout === 'function') consumer = stdout(child.stdout);
  else
    child.stdout.on('data', (d) => {
      if (out.length < 65536) out += d.toString('utf8');
    });
  child.stderr.on('data', (d) => {
    err = (err + d.toString('utf8')).slice(-4096);
  });

  let pollKB = 0;
  let poller = null;
  if (!GNU_TIME) {
    const poll = () => {
      try {
        const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) pollKB = Math.max(pollKB, Number(m[1]));
      } catch {
        /* exited */
      }
    };
    poll();
    poller = setInterval(poll, 20);
  }

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, timeoutS * 1000);

  const [code, signal] = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearTimeout(timer);
  if (poller) clearInterval(poller);
  liveGroups.delete(child.pid);
  const consumed = consumer ? await consumer : undefined;

  let peakRssKB = pollKB || null;
  let exitCode = code;
  if (GNU_TIME) {
    try {
      const lines = (await readFile(timeFile, 'utf8')).trim().split('\n');
      const last = lines[lines.length - 1].trim().split(/\s+/);
      peakRssKB = Number(last[1]) || null;
      const st = /exited with non-zero status (\d+)/.exec(lines.join('\n'));
      if (st) exitCode = Number(st[1]);
      const sig = /terminated by signal (\d+)/.exec(lines.join('\n'));
      if (sig) exitCode = 128 + Number(sig[1]);
    } catch {
      /* killed before GNU time wrote its report */
    }
    await rm(timeFile, { force: true });
  }

  let error = null;
  if (timedOut) error = `timed out after ${timeoutS}s`;
  else if (signal) error = `killed by ${signal}`;
  else if (exitCode !== 0) error = `exit code ${exitCode}`;
  if (error && err.trim()) error += `: ${err.trim().split('\n').slice(-3).join(' | ')}`;
  return { seconds, peakRssKB, stdout: out, stderr: err, error, consumed };
}

/** A database holding one finalized window of 1,000,000 keys, built once. */
let snapshotStateCache = null;
async function snapshotState(ctx) {
  if (snapshotStateCache === null) {
    const keys = join(ctx.tmpDir, 'keys-1m.txt');
    let text = '';
    for (let i = 0; i < 1_000_000; i++) text += `key-${i}\n`;
    await writeFile(keys, text);
    const db = join(ctx.tmpDir, 'snapshot-source.db');
    const built = await ctx.measure([ctx.node, ctx.statesync, 'count', keys, '--key', 'line', '--window', '1d', '--db', db, '--quiet']);
    if (built.error) throw new Error(`building the 1M-key state failed: ${built.error}`);
    snapshotStateCache = { db, snap: join(ctx.tmpDir, 'state-1m.snap') };
  }
  return snapshotStateCache;
}

/** The corpus split in `n` parts by lines, written once per corpus outside any timed region. */
const splitCache = new Map();
async function splitCorpus(ctx, n) {
  const id = `${ctx.corpus.id}-${n}`;
  if (!splitCache.has(id)) {
    const text = await readFile(ctx.file);
    const files = [];
    let from = 0;
    for (let i = 1; i <= n; i++) {
      let to = i === n ? text.length : text.indexOf(10, Math.floor((text.length * i) / n)) + 1;
      if (to <= 0) to = text.length;
      const file = join(ctx.tmpDir, `part-${i}-of-${n}-${ctx.corpus.id}.txt`);
      await writeFile(file, text.subarray(from, to));
      files.push(file);
      from = to;
    }
    splitCache.set(id, files);
  }
  return splitCache.get(id);
}

/** The durable word count every statesync --db case runs, on a file or a part of the corpus. */
function durableWithThreads(ctx, threads) {
  const db = join(ctx.tmpDir, `durable-${threads}t-${ctx.corpus.id}-${ctx.runIndex}.db`);
  return {
    argv: [ctx.node, ctx.statesync, 'count', ctx.file, '--db', db, '--window', '1h', '--quiet', '--threads', String(threads)],
    cleanup: () => removeDb(db),
  };
}

function countArgv(ctx, file, db) {
  return [ctx.node, ctx.statesync, 'count', file, '--db', db, '--window', '1h', '--quiet'];
}

/** Runs `use(url)` on a new database of the benchmark's PostgreSQL server, dropped afterwards (neither timed). */
async function withPgDatabase(ctx, tag, use) {
  const name = `bench_${tag}_${ctx.corpus.id}_${ctx.runIndex}`.replace(/[^a-z0-9_]/g, '_');
  await ctx.pg.createDatabase(name);
  try {
    return await use(ctx.pg.url(name));
  } finally {
    await ctx.pg.dropDatabase(name);
  }
}

/** Bundles bench/commit-latency.ts (against src/ as it is) once per benchmark run. */
let latencyDriver = null;
function bundleLatencyDriver() {
  latencyDriver ??= import('../scripts/bundle.mjs').then(({ bundle }) => bundle('esm', LATENCY_DRIVER, join(BENCH_DIR, 'commit-latency.ts')));
  return latencyDriver;
}

/** One run of the commit-latency driver on `db`: its process's time and RSS, and one sample per commit. */
async function commitLatency(ctx, db) {
  await bundleLatencyDriver();
  const res = await ctx.measure([ctx.node, LATENCY_DRIVER, '--db', db, '--corpus', ctx.file]);
  if (res.error) return res;
  const { samplesMs, keysPerCommit, windows } = JSON.parse(res.stdout);
  return { ...res, commitMs: samplesMs, keysPerCommit, windowsPerCommit: windows };
}

/** Percentiles (nearest rank) of commit latencies in ms. */
function latencySummary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const rank = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return { samples: s.length, p50: rank(50), p90: rank(90), p99: rank(99), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** A latency case's runs pooled: percentiles over every commit of every successful run. */
function commitLatencyOf(runs) {
  return { ...latencySummary(runs.flatMap((r) => r.commitMs)), keysPerCommit: runs[0].keysPerCommit, windowsPerCommit: runs[0].windowsPerCommit };
}

/** Runs several argvs at the same time; wall time until all exit, RSS summed. For future cases. */
async function measureConcurrently(argvs, opts = {}) {
  const started = process.hrtime.bigint();
  const results = await Promise.all(argvs.map((argv) => measure(argv, opts)));
  return {
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    peakRssKB: results.reduce((s, r) => s + (r.peakRssKB ?? 0), 0) || null,
    error: results.map((r) => r.error).filter(Boolean).join('; ') || null,
    results,
  };
}

/** Reads the file once: warms the page cache for every case alike, and fingerprints it. */
async function hashFile(path) {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk);
  return h.digest('hex');
}

/** Collects distinct keys / total count from statesync's TSV output (summed across windows). */
function tsvKeyCounter(stream) {
  return new Promise((resolve, reject) => {
    const keys = new Set();
    const windows = new Set();
    let total = 0;
    let rows = 0;
    let bad = 0;
    const rl = createInterface({ input: stream, crlfDelay: Infinity });
    rl.on('line', (line) => {
      if (!line) return;
      const cols = line.split('\t');
      if (cols.length < 4) {
        bad++;
        return;
      }
      rows++;
      windows.add(cols[0]);
      keys.add(cols[2]);
      total += Number(cols[3]);
    });
    rl.on('close', () => resolve({ distinct: keys.size, total, rows, windows: windows.size, badLines: bad }));
    rl.on('error', reject);
  });
}

function machineFacts() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux */
  }
  let git = null;
  const rev = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (rev.status === 0) {
    const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src', 'bin', 'package.json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    git = { commit: rev.stdout.trim(), dirty: dirty.stdout.trim() !== '' };
  }
  let version = null;
  try {
    version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  } catch {
    /* ignore */
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    locale: process.env.LC_ALL || process.env.LC_COLLATE || process.env.LANG || 'unset',
    statesync: { version, git },
    rssMethod: GNU_TIME ? `${GNU_TIME} -f %M (max RSS of the process tree's largest process)` : '/proc/<pid>/status VmHWM polling (direct child only)',
    tools: {
      mawk: haveCommand('mawk') ? firstLine(['mawk', '-W', 'version']) : null,
      gawk: haveCommand('gawk') ? firstLine(['gawk', '--version']) : null,
      sort: haveCommand('sort') ? firstLine(['sort', '--version']) : null,
      wc: haveCommand('wc') ? firstLine(['wc', '--version']) : null,
    },
  };
}

// ---------------------------------------------------------------------------
// Formatting

function fmt(n, digits) {
  return n == null || !Number.isFinite(n) ? '-' : n.toFixed(digits);
}

function renderTable(headers, rows, alignRight) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells
      .map((c, i) => (alignRight[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------------------
// Main

async function main() {
  const facts = machineFacts();
  const tmpDir = await mkdtemp(join(os.tmpdir(), 'statesync-bench-'));
  const cleanupAndExit = (code) => {
    for (const pid of liveGroups) killGroup(pid);
    rmSync(tmpDir, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => cleanupAndExit(130));
  process.on('SIGTERM', () => cleanupAndExit(143));

  if (!existsSync(join(ROOT, 'dist', 'statesync.cjs'))) {
    log('bench: dist/ is missing; run `npm run build` first (npm run bench does).');
    cleanupAndExit(1);
  }

  const notes = [];
  const corpora = CORPORA.filter((c) => !ONLY_CORPORA || ONLY_CORPORA.has(c.id));
  const selected = CASES.filter((c) => !ONLY_CASES || ONLY_CASES.has(c.id));
  const cases = [];
  for (const c of selected) {
    const missing = (c.requires ?? []).filter((t) => !haveCommand(t));
    if (c.postgres && serverBinDir() === null) missing.push("PostgreSQL (Debian's postgresql package)");
    if (missing.length) notes.push(`skipped ${c.id}: ${missing.join(', ')} not installed`);
    else cases.push(c);
  }
  if (!cases.some((c) => c.id === BASELINE_CASE)) notes.push(`no ${BASELINE_CASE} results: ratio column is empty`);
  if (!GNU_TIME) notes.push('GNU time not found: peak RSS polled from /proc (direct child only, may miss short peaks)');

  log(`statesync bench: ${SIZE_MB} MB corpora, ${RUNS} run(s) per case, ${cases.length} case(s)`);
  for (const n of notes) log(`note: ${n}`);

  // 1. Corpora.
  const corpusInfo = {};
  for (const corpus of corpora) {
    const existed = existsSync(corpus.file) && statSync(corpus.file).size >= corpus.bytes;
    if (!existed) log(`generating ${relative(ROOT, corpus.file)} (${SIZE_MB} MB, ${corpus.vocabulary} words, seed ${corpus.seed}) ...`);
    const t0 = Date.now();
    await ensureCorpus(corpus.file, { bytes: corpus.bytes, vocabulary: corpus.vocabulary, seed: corpus.seed });
    if (!existed) log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    const sha256 = await hashFile(corpus.file); // also warms the page cache
    corpusInfo[corpus.id] = {
      id: corpus.id,
      path: relative(ROOT, corpus.file),
      bytes: statSync(corpus.file).size,
      vocabulary: corpus.vocabulary,
      seed: corpus.seed,
      sha256,
    };
  }

  // The PostgreSQL cases' server: one for the whole benchmark (a watchdog stops it if we die first).
  const pg = cases.some((c) => c.postgres) ? await startPostgres() : null;
  if (pg !== null) {
    facts.postgres = pg.version;
    log(`started a throwaway PostgreSQL server (${pg.version}) at ${pg.url('')}`);
  }

  // 2. Runs.
  const results = []; // one per (corpus, case)
  const verification = [];
  let failed = false;

  for (const corpus of corpora) {
    const info = corpusInfo[corpus.id];
    const baseCtx = {
      corpus,
      file: corpus.file,
      bytes: info.bytes,
      tmpDir,
      node: NODE,
      statesync: STATESYNC,
      measure: (argv, opts) => measure(argv, { tmpDir, ...opts }),
      measureConcurrently: (argvs, opts) => measureConcurrently(argvs, { tmpDir, ...opts }),
      pg,
    };
    await hashFile(corpus.file); // re-warm: the other corpus may have been read since

    const rowsHere = cases
      .filter((c) => !c.corpora || c.corpora.includes(corpus.id))
      .map((c) => ({ case: c, runs: [], outputs: [] }));

    // Round-robin over cases within each run, so slow drift (thermal, noisy neighbours)
    // spreads over all cases instead of hitting one.
    for (let r = 0; r < RUNS; r++) {
      for (const row of rowsHere) {
        const ctx = { ...baseCtx, runIndex: r };
        let res;
        if (row.case.run) {
          res = await row.case.run(ctx);
        } else {
          const { argv, env, cleanup } = row.case.command(ctx);
          try {
            res = await measure(argv, { env, tmpDir });
          } finally {
            if (cleanup) await cleanup();
          }
        }
        row.runs.push({
          seconds: res.seconds,
          peakRssKB: res.peakRssKB ?? null,
          error: res.error ?? null,
          ...(res.commitMs ? { commitMs: res.commitMs, keysPerCommit: res.keysPerCommit, windowsPerCommit: res.windowsPerCommit } : {}),
        });
        if (res.stdout != null) row.outputs.push(res.stdout.trim());
        log(
          `[${corpus.id}] run ${r + 1}/${RUNS} ${row.case.id.padEnd(18)} ${fmt(res.seconds, 2).padStart(7)}s` +
            `  ${fmt((res.peakRssKB ?? NaN) / 1024, 1).padStart(7)} MiB${res.error ? `  FAILED: ${res.error}` : ''}`,
        );
      }
    }

    for (const row of rowsHere) {
      const ok = row.runs.filter((x) => !x.error);
      const errors = row.runs.filter((x) => x.error).map((x) => x.error);
      if (errors.length) failed = true;
      const med = ok.length ? median(ok.map((x) => x.seconds)) : null;
      const rss = row.runs.map((x) => x.peakRssKB).filter((x) => x != null);
      let outputValue = null;
      if (row.case.output && row.outputs.length) {
        const n = Number(row.outputs[0].split(/\s+/)[0]);
        if (Number.isFinite(n)) outputValue = n;
      }
      results.push({
        case: row.case.id,
        label: row.case.label,
        corpus: corpus.id,
        bytes: info.bytes,
        runs: row.runs,
        medianSeconds: med,
        minSeconds: ok.length ? Math.min(...ok.map((x) => x.seconds)) : null,
        maxSeconds: ok.length ? Math.max(...ok.map((x) => x.seconds)) : null,
        mbPerSecond: med && !row.case.latency ? info.bytes / MB / med : null,
        ratioToBaseline: null,
        peakRssKB: rss.length ? Math.max(...rss) : null,
        output: row.case.output ? { kind: row.case.output, value: outputValue } : undefined,
        commitLatencyMs: row.case.latency && ok.length ? commitLatencyOf(ok) : undefined,
        errors: errors.length ? errors : undefined,
      });
    }
    const here = results.filter((x) => x.corpus === corpus.id);
    const base = here.find((x) => x.case === BASELINE_CASE);
    for (const x of here) {
      if (base?.medianSeconds && x.medianSeconds && !x.commitLatencyMs) x.ratioToBaseline = x.medianSeconds / base.medianSeconds;
    }

    // 3. Correctness, once per corpus: statesync's distinct keys (across all windows,
    // --window 1d so normally one window) and total count must equal mawk's distinct
    // count and wc -w's word count. The other tools' outputs are cross-checked as well.
    if (VERIFY) {
      const v = await verify(corpus, here, tmpDir, baseCtx);
      verification.push(v);
      if (v.ok === false) failed = true;
    }
  }

  await pg?.stop();

  // 4. Report.
  const report = {
    schema: 1,
    machine: facts,
    settings: { sizeMB: SIZE_MB, runs: RUNS, baseline: BASELINE_CASE, timeoutS: TIMEOUT_S },
    corpora: Object.values(corpusInfo),
    results,
    verification,
    notes,
  };

  const header = [
    `statesync ${facts.statesync.version ?? '?'}${facts.statesync.git ? ` @ ${facts.statesync.git.commit.slice(0, 10)}${facts.statesync.git.dirty ? ' (dirty)' : ''}` : ''}` +
      ` — ${facts.date}`,
    `node ${facts.node} | ${facts.cpu} | ${facts.cores} cores | ${facts.memoryGB} GiB | ${facts.platform} | locale ${facts.locale}`,
    `corpora: ${Object.values(corpusInfo)
      .map((c) => `${c.id} = ${c.path} (${fmt(c.bytes / MB, 1)} MB, ${c.vocabulary} words)`)
      .join('; ')}`,
    `median of ${RUNS} run(s); ratio = time / ${BASELINE_CASE} time on the same corpus; peak RSS = max over runs`,
  ];
  const table = renderTable(
    ['case', 'corpus', 'median s', 'MB/s', `x ${BASELINE_CASE}`, 'peak RSS MiB', 'status'],
    results.map((x) => [
      x.case,
      x.corpus,
      fmt(x.medianSeconds, 2),
      fmt(x.mbPerSecond, 1),
      fmt(x.ratioToBaseline, 2),
      fmt(x.peakRssKB == null ? null : x.peakRssKB / 1024, 1),
      x.errors ? `FAILED ${x.errors.length}/${x.runs.length}` : 'ok',
    ]),
    [false, false, true, true, true, true, false],
  );
  const verifyLines = verification.map(
    (v) =>
      `verify ${v.corpus}: ${v.ok ? 'OK' : v.ok === false ? 'MISMATCH' : 'NOT CHECKED (needs mawk / wc-w results)'} — ` +
      v.checks.map((c) => `${c.what} ${c.actual}${c.ok ? ' = ' : ' != '}${c.expected} (${c.against})`).join('; ') +
      (v.errors.length ? `; errors: ${v.errors.join('; ')}` : ''),
  );

  // Several workers' throughput against one on the same corpus and backend (issue 4 target for
  // two: >= 1.6), and PostgreSQL's time against SQLite's (issue 14 target for one worker: <= 1.3).
  const medianOf = (corpus, id) => results.find((x) => x.corpus === corpus && x.case === id)?.medianSeconds;
  const comparisons = [
    ['two workers vs one', 'statesync-durable', 'statesync-2proc', (a, b) => `${fmt(a / b, 2)}x the throughput`],
    ['three workers vs one', 'statesync-durable', 'statesync-3proc', (a, b) => `${fmt(a / b, 2)}x the throughput`],
    ['three workers vs one, PostgreSQL', 'statesync-pg', 'statesync-pg-3proc', (a, b) => `${fmt(a / b, 2)}x the throughput`],
    ['PostgreSQL vs SQLite, one worker', 'statesync-durable', 'statesync-pg', (a, b) => `${fmt(b / a, 2)}x the time (target <= 1.3)`],
    ['PostgreSQL vs SQLite, three workers', 'statesync-3proc', 'statesync-pg-3proc', (a, b) => `${fmt(b / a, 2)}x the time`],
    ['quantile vs datamash perc:99', 'datamash-perc99', 'statesync-quantile', (a, b) => `${fmt(b / a, 2)}x the time`],
    ['distinct vs datamash countunique', 'datamash-countunique', 'statesync-distinct', (a, b) => `${fmt(b / a, 2)}x the time`],
  ];
  const scaling = [...new Set(results.map((x) => x.corpus))].flatMap((corpus) =>
    comparisons.flatMap(([what, a, b, say]) => {
      const [ta, tb] = [medianOf(corpus, a), medianOf(corpus, b)];
      return ta && tb ? [`${what} on ${corpus}: ${say(ta, tb)}`] : [];
    }),
  );

  const latencyRows = results.filter((x) => x.commitLatencyMs);
  const latency = latencyRows.length
    ? [
        '',
        renderTable(
          ['commit latency', 'corpus', 'commits', 'windows', 'keys/commit', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
          latencyRows.map(({ case: id, corpus, commitLatencyMs: l }) => [
            id,
            corpus,
            l.samples,
            l.windowsPerCommit,
            l.keysPerCommit,
            fmt(l.p50, 1),
            fmt(l.p90, 1),
            fmt(l.p99, 1),
            fmt(l.max, 1),
          ]),
          [false, false, true, true, true, true, true, true, true],
        ),
        ...[...new Set(latencyRows.map((x) => x.corpus))].flatMap((corpus) => {
          const of = (id) => latencyRows.find((x) => x.corpus === corpus && x.case === id)?.commitLatencyMs;
          const [sqlite, postgres] = [of('commit-latency-sqlite'), of('commit-latency-pg')];
          return sqlite && postgres
            ? [`commit latency PostgreSQL vs SQLite on ${corpus}: p50 ${fmt(postgres.p50 / sqlite.p50, 2)}x, p99 ${fmt(postgres.p99 / sqlite.p99, 2)}x`]
            : [];
        }),
      ]
    : [];

  console.log([...header, '', table, ...latency, '', ...scaling, ...verifyLines, ...notes.map((n) => `note: ${n}`)].join('\n'));

  await mkdir(RESULTS_DIR, { recursive: true });
  const outFile = join(RESULTS_DIR, `${facts.date.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`);
  await writeFile(outFile, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nresults: ${relative(ROOT, outFile)}`);

  await rm(tmpDir, { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}

async function verify(corpus, here, tmpDir, ctx) {
  const errors = [];
  const checks = [];
  const modes = {};
  const has = (id) => here.some((x) => x.case === id);
  const vctx = { ...ctx, runIndex: 'verify' };
  const sqliteDb = async (use) => {
    const db = join(tmpDir, `verify-${corpus.id}.db`);
    try {
      return await use(db);
    } finally {
      removeDb(db);
    }
  };
  const counted = (argv) => measure(argv, { stdout: tsvKeyCounter, tmpDir });
  const oneWorker = (extra) => counted([NODE, STATESYNC, 'count', corpus.file, '--window', '1d', '--format', 'tsv', ...extra]);
  // Workers in parallel on one database, then what `query` holds: every key of the corpus once.
  const workers = async (n, db) => {
    const parts = await splitCorpus(vctx, n);
    const ran = await measureConcurrently(parts.map((file) => [NODE, STATESYNC, 'count', file, '--db', db, '--window', '1d', '--quiet']), { tmpDir });
    if (ran.error) return ran;
    const res = await counted([NODE, STATESYNC, 'query', '--db', db, '--format', 'tsv']);
    return { ...res, seconds: ran.seconds + res.seconds, peakRssKB: ran.peakRssKB };
  };
  const plan = [
    ['memory', () => oneWorker([])],
    ['durable', () => sqliteDb((db) => oneWorker(['--db', db]))],
  ];
  if (has('statesync-durable-1thread')) plan.push(['durable-1thread', () => sqliteDb((db) => oneWorker(['--db', db, '--threads', '1']))]);
  if (has('statesync-pipe')) {
    const count = [NODE, STATESYNC, 'count', '--window', '1d', '--format', 'tsv'].map(shellQuote).join(' ');
    plan.push(['pipe', () => counted(['sh', '-c', `cat ${shellQuote(corpus.file)} | ${count}`])]);
  }
  if (has('statesync-pg')) plan.push(['postgres', () => withPgDatabase(vctx, 'verify', (url) => oneWorker(['--db', url]))]);
  if (has('statesync-3proc')) plan.push(['3proc', () => sqliteDb((db) => workers(3, db))]);
  if (has('statesync-pg-3proc')) plan.push(['postgres-3proc', () => withPgDatabase(vctx, 'verify3', (url) => workers(3, url))]);
  for (const [mode, run] of plan) {
    log(`[${corpus.id}] verify: statesync count --window 1d (${mode}) ...`);
    const res = await run();
    if (res.error) errors.push(`statesync (${mode}): ${res.error}`);
    modes[mode] = { ...res.consumed, seconds: res.seconds, peakRssKB: res.peakRssKB, stderr: res.stderr?.trim() || undefined };
  }
  // Every other way of running statesync must agree with one durable worker, mawk or no mawk.
  const durable = modes.durable;
  for (const [mode, m] of Object.entries(modes)) {
    if (mode === 'memory' || mode === 'durable' || m.distinct == null || durable.distinct == null) continue;
    checks.push({ what: `statesync-${mode} distinct`, actual: m.distinct, expected: durable.distinct, against: 'statesync-durable', ok: m.distinct === durable.distinct });
    checks.push({ what: `statesync-${mode} total`, actual: m.total, expected: durable.total, against: 'statesync-durable', ok: m.total === durable.total });
  }
  const outputOf = (id) => here.find((x) => x.case === id)?.output?.value ?? null;
  const mawk = outputOf('mawk');
  const words = outputOf('wc-w');
  for (const [mode, m] of Object.entries(modes)) {
    if (m.distinct == null) continue;
    if (mawk != null) checks.push({ what: `statesync-${mode} distinct`, actual: m.distinct, expected: mawk, against: 'mawk', ok: m.distinct === mawk });
    if (words != null) checks.push({ what: `statesync-${mode} total`, actual: m.total, expected: words, against: 'wc -w', ok: m.total === words });
    if (m.badLines) errors.push(`statesync (${mode}): ${m.badLines} unparsable output line(s)`);
  }
  // Cross-check the other distinct-count tools against mawk.
  for (const x of here) {
    if (x.output?.kind === 'distinct' && x.case !== 'mawk' && mawk != null && x.output.value != null) {
      checks.push({ what: `${x.case} distinct`, actual: x.output.value, expected: mawk, against: 'mawk', ok: x.output.value === mawk });
    }
  }
  // ok: true / false, or null when there was nothing to compare with (mawk and wc-w not run).
  const ok = errors.length ? false : checks.length ? checks.every((c) => c.ok) : null;
  return {
    corpus: corpus.id,
    ok,
    windows: Object.fromEntries(Object.entries(modes).map(([k, m]) => [k, m.windows])),
    statesync: modes,
    checks,
    errors,
  };
}

await main();
