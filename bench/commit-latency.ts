/**
 * Commit latency of a state store, through the state port as the CLI uses it
 * (openStore, ensureJob, registerWorker, then StateStore.commit), without
 * touching src/. bench/run.mjs bundles this file with esbuild and runs it:
 *
 *   node dist/bench/commit-latency.mjs --db DB --corpus FILE [--commits N] [--warmup N]
 *
 * Each batch is shaped like a word-count worker's (pipeline/committer.ts): a
 * delta per open window, made by the CLI's own WordCountTable from CHUNK_BYTES
 * of the corpus (keys encoded as the store receives them), one file source
 * moving its offset forward, the counters and the worker's heartbeat. Only
 * the `await store.commit(batch)` is timed. Prints one JSON line:
 * { db, windows, keysPerCommit, samplesMs }.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { DeltaColumns } from '../src/model.js';
import { WordCountTable } from '../src/reducers/word-count-table.js';
import { openStore } from '../src/state/open.js';
import type { CommitBatch } from '../src/state/port.js';

/** Open windows per commit: a worker whose input spans a few windows (with --window 1h, one). */
const WINDOWS = 3;
/** Text per window delta: about what a worker reads in a 1 s commit interval gives ~50k keys at 50k words. */
const CHUNK_BYTES = 8_000_000;
/** Distinct deltas made from the corpus, used in turn. */
const DISTINCT_CHUNKS = 6;
const HOUR_MS = 3_600_000;
const JOB = 'bench';

const { values } = parseArgs({
  options: {
    db: { type: 'string' },
    corpus: { type: 'string' },
    commits: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '3' },
  },
});
if (values.db === undefined || values.corpus === undefined) throw new Error('usage: commit-latency --db DB --corpus FILE [--commits N] [--warmup N]');
const commits = Number(values.commits);
const warmup = Number(values.warmup);

interface Chunk {
  readonly delta: DeltaColumns;
  readonly bytes: number;
  readonly lines: number;
  readonly words: number;
}

/** The word-count deltas of DISTINCT_CHUNKS consecutive chunks of the corpus (wrapping around), cut at line ends. */
function chunks(path: string): Chunk[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    const made: Chunk[] = [];
    let position = 0;
    while (made.length < DISTINCT_CHUNKS) {
      const read = readSync(fd, buffer, 0, CHUNK_BYTES, position);
      const end = buffer.lastIndexOf(0x0a, read - 1) + 1;
      const table = new WordCountTable();
      const tally = { words: 0, lines: 0 };
      table.addWords(buffer, 0, end, tally);
      made.push({ delta: table.unsettled(), bytes: end, ...tally });
      position = position + end >= size ? 0 : position + end;
    }
    return made;
  } finally {
    closeSync(fd);
  }
}

const corpus = chunks(values.corpus);
const store = await openStore(values.db);
try {
  const start = Date.UTC(2026, 0, 1);
  await store.ensureJob(JOB, { reduction: 'count', window: '1h', key: 'word' }, Date.now(), HOUR_MS);
  const worker = randomUUID();
  await store.registerWorker({ id: worker, job: JOB, pid: process.pid, host: hostname(), watermark: start }, Date.now());
  const samplesMs: number[] = [];
  let offset = 0;
  let keys = 0;
  for (let i = 0; i < warmup + commits; i++) {
    const read = Array.from({ length: WINDOWS }, (_, w) => corpus[(i * WINDOWS + w) % corpus.length]!);
    const windows = read.map((chunk, w) => ({ start: start + w * HOUR_MS, end: start + (w + 1) * HOUR_MS, delta: chunk.delta }));
    const bytes = read.reduce((n, c) => n + c.bytes, 0);
    const batch: CommitBatch = {
      job: JOB,
      now: Date.now(),
      windows,
      worker: { id: worker, watermark: start, idle: false },
      sources: [
        { source: 'file:bench', kind: 'file', fromOffset: offset, toOffset: offset + bytes, lines: read.reduce((n, c) => n + c.lines, 0), maxEventTime: null, identity: null },
      ],
      records: read.reduce((n, c) => n + c.words, 0),
      rejected: 0,
      late: 0,
      duplicates: 0,
    };
    const began = process.hrtime.bigint();
    await store.commit(batch);
    const ms = Number(process.hrtime.bigint() - began) / 1e6;
    offset += bytes;
    if (i >= warmup) {
      samplesMs.push(ms);
      keys += windows.reduce((n, w) => n + w.delta.size, 0);
    }
  }
  process.stdout.write(`${JSON.stringify({ db: values.db, windows: WINDOWS, keysPerCommit: Math.round(keys / commits), samplesMs })}\n`);
} finally {
  await store.close();
}
