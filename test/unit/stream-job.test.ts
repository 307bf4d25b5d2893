// StreamJob in-process, on an in-memory SQLite store and a clock the test moves: watermarks, windows
// firing on the timer, fencing and rejoin, idle timeout, early publication, lateness. Network input is
// a real loopback listener (--listen 127.0.0.1:0); the run's timer ticks in real time, but every time
// it reads is the test's clock.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStreamOptions, type RawStreamOptions } from '../../src/cli/options.js';
import type { WindowResult } from '../../src/model.js';
import { StreamJob, type RunSummary } from '../../src/pipeline/stream-job.js';
import type { ReductionName } from '../../src/reducers/reducers.js';
import { reducerFor } from '../../src/reducers/reducers.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import type { Liveness, StateStore } from '../../src/state/port.js';
import { SqliteStore } from '../../src/state/sqlite/store.js';
import type { SpawnCountWorker } from '../../src/threads/pool.js';
import { RunCounters } from '../../src/pipeline/counters.js';
import { recordsOf } from '../../src/pipeline/records.js';
import { detachedCursor } from '../../src/pipeline/source-cursors.js';
import { ChunkWall, ThreadedSink } from '../../src/pipeline/threaded-sink.js';
import { WindowClock } from '../../src/pipeline/window-clock.js';
import { generateWordCorpus, total, wordCounts } from '../support/counts.js';
import { seededRandom } from '../support/prng.js';
import { counts as wordDelta } from '../conformance/support.js';

const HOUR = 3_600_000;
const START = 1_764_151_200_000 - (1_764_151_200_000 % HOUR);
const LIVENESS: Liveness = { host: 'test-host', timeoutMs: 10_000, pidAlive: () => true };
const summarize = summarizerFor(reducerFor('count'));

/** A clock that moves only when the test moves it. */
class TestClock {
  constructor(private at: number) {}
  now = (): number => this.at;
  set(at: number): void {
    this.at = at;
  }
  advance(ms: number): void {
    this.at += ms;
  }
}

/** Resolves with `check`'s first value other than undefined; fails after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function config(reduction: ReductionName, files: readonly string[], raw: Partial<RawStreamOptions>) {
  return parseStreamOptions(
    reduction,
    files,
    {
      window: '1h',
      commitInterval: '1s',
      maxLineBytes: String(1 << 20),
      job: 'default',
      dedupeTtl: '1h',
      workerTimeout: '10s',
      maxConnections: '256',
      retain: '1h',
      ...raw,
    },
    { stdoutIsTTY: false, env: {} },
  );
}

const totals = (w: WindowResult) => new Map(w.rows.map(([k, v]) => [k, Number(v)]));

let dir: string;
let store: StateStore;
const sockets: Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statesync-job-'));
  store = SqliteStore.open(null);
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a run; `listening` resolves with the address of its --listen 0 input. */
function start(cfg: ReturnType<typeof config>, clock: TestClock, liveness: Liveness = LIVENESS, spawnCounter?: SpawnCountWorker) {
  const published: WindowResult[] = [];
  const late: string[] = [];
  const notes: string[] = [];
  let heard: (address: string) => void = () => undefined;
  const listening = new Promise<string>((resolve) => (heard = resolve));
  const job = new StreamJob(cfg, {
    store,
    clock,
    publish: (result) => published.push(result),
    note: (line) => {
      notes.push(line);
      const m = /^listening on (.*)$/.exec(line);
      if (m !== null) heard(m[1]!);
    },
    late: (line) => late.push(line),
    liveness,
    pid: process.pid,
    ...(spawnCounter === undefined ? {} : { spawnCounter }),
  });
  const done: Promise<RunSummary> = job.run();
  return { job, done, published, late, notes, listening };
}

/** A client of the run's listener. */
async function client(address: string): Promise<Socket> {
  const at = address.lastIndexOf(':');
  const socket = connect(Number(address.slice(at + 1)), address.slice(0, at));
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return socket;
}

/** Records the job has committed so far. */
const committedRecords = async (clock: TestClock) => (await store.status(LIVENESS, clock.now())).jobs[0]?.records ?? 0;

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('StreamJob in processing time', () => {
  it('fires a window on the timer once the clock passes its end, while the input stays open; a signal stops it cleanly', async () => {
    const clock = new TestClock(START + 1000);
    const run = start(config('count', [], { listen: '127.0.0.1:0' }), clock);
    const socket = await client(await run.listening);
    socket.write('a b a\n');
    // A commit interval later (still inside the window), the timer commits what was read.
    await until('the first commit', async () => {
      clock.advance(1000);
      return (await committedRecords(clock)) === 3 || undefined;
    });
    await sleep(200);
    expect(run.published).toEqual([]);

    clock.set(START + HOUR + 10);
    await until('the window, fired by the timer', () => (run.published.length > 0 ? true : undefined));
    expect(run.published.map((w) => [w.start, w.end])).toEqual([[START, START + HOUR]]);
    expect(totals(run.published[0]!)).toEqual(new Map([['a', 2], ['b', 1]]));

    socket.write('c\n');
    await until('the second commit', async () => {
      clock.advance(1000);
      return (await committedRecords(clock)) === 4 || undefined;
    });
    run.job.stop('SIGINT');
    const summary = await run.done;
    expect([summary.stoppedBy, summary.records, summary.late]).toEqual(['SIGINT', 4, 0]);
    // The stop published what this worker alone held.
    expect(run.published.map((w) => w.start)).toEqual([START, START + HOUR]);
    expect(totals(run.published[1]!)).toEqual(new Map([['c', 1]]));
  });

  it('declared dead through the store, says so at its next commit, rejoins as a new worker and counts every record once', async () => {
    const clock = new TestClock(START + 1000);
    const run = start(config('count', [], { listen: '127.0.0.1:0' }), clock);
    const socket = await client(await run.listening);
    socket.write('a b\n');
    await until('the first commit', async () => {
      clock.advance(1000);
      return (await committedRecords(clock)) === 2 || undefined;
    });
    const [first] = await store.workers(LIVENESS, clock.now());
    // Another worker (still inside the window, so it holds it open) finds this one's process gone.
    await store.registerWorker({ id: 'other', job: 'default', pid: 1, host: LIVENESS.host, watermark: START + 500 }, clock.now());
    await store.finalizeReady({
      job: 'default',
      self: 'other',
      liveness: { ...LIVENESS, pidAlive: (pid) => pid !== process.pid },
      summarize,
      now: clock.now(),
    });
    expect((await store.workers(LIVENESS, clock.now())).find((w) => w.id === first!.id)?.state).toBe('dead');

    socket.write('c\n');
    const rejoined = `worker ${first!.id} was declared dead by the other workers (no heartbeat in time); rejoining as a new worker`;
    await until('the rejoin', async () => {
      clock.advance(1000);
      return run.notes.includes(rejoined) && (await committedRecords(clock)) === 3 ? true : undefined;
    });
    await store.finishWorker('other', clock.now());
    run.job.stop('SIGTERM');
    const summary = await run.done;
    expect([summary.stoppedBy, summary.records]).toEqual(['SIGTERM', 3]);
    expect(run.notes.filter((n) => n.includes('rejoining'))).toEqual([rejoined]);
    // The dead worker's committed work stays: the window holds every record once.
    expect(run.published.map((w) => w.start)).toEqual([START]);
    expect(totals(run.published[0]!)).toEqual(new Map([['a', 1], ['b', 1], ['c', 1]]));
    const workers = await store.workers(LIVENESS, clock.now());
    expect(workers.map((w) => w.state).sort()).toEqual(['dead', 'finished', 'finished']);
    expect(workers.filter((w) => w.pid === process.pid).map((w) => w.state).sort()).toEqual(['dead', 'finished']);
  });
});

describe('StreamJob at the end of input, beside another live worker', () => {
  it('publishes early, before the window ends, what the other worker no longer holds', async () => {
    const clock = new TestClock(START + 1000);
    // Another host's worker, live, whose watermark has passed the window.
    await store.registerWorker({ id: 'other', job: 'default', pid: 1, host: 'elsewhere', watermark: START + HOUR }, clock.now());
    const run = start(config('count', [file('in.txt', 'a b a\n')], {}), clock);
    const summary = await run.done;
    expect(summary.records).toBe(3);
    expect(clock.now()).toBeLessThan(START + HOUR);
    expect(run.published.map((w) => w.start)).toEqual([START]);
    expect((await store.workers(LIVENESS, clock.now())).find((w) => w.id === 'other')?.health).toBe('alive');
    expect(totals(run.published[0]!)).toEqual(new Map([['a', 2], ['b', 1]]));
  });

  it('leaves a window the other worker still holds to it, committed, and the last one to finish publishes it', async () => {
    const clock = new TestClock(START + 1000);
    await store.registerWorker({ id: 'other', job: 'default', pid: 1, host: 'elsewhere', watermark: START + 500 }, clock.now());
    const run = start(config('count', [file('in.txt', 'a b a\n')], {}), clock);
    const summary = await run.done;
    expect(summary.records).toBe(3);
    expect(run.published).toEqual([]);
    const [open] = await store.readOpen('default', () => summarize);
    expect([open!.start, totals(open!)]).toEqual([START, new Map([['a', 2], ['b', 1]])]);

    await store.finishWorker('other', clock.now());
    const { published } = await store.finalizeReady({ job: 'default', self: null, liveness: LIVENESS, summarize, now: clock.now() });
    expect(published.map((w) => [w.start, totals(w)])).toEqual([[START, new Map([['a', 2], ['b', 1]])]]);
  });
});

describe('StreamJob without records of its own', () => {
  it('publishes, once the clock passes its end, a window a finished worker left open', async () => {
    const clock = new TestClock(START + 1000);
    // Listening, no client: this worker never reads a record.
    const run = start(config('count', [], { listen: '127.0.0.1:0' }), clock);
    await run.listening;
    // Past its start-up (whose finalization looks at the store once) and committing on its timer.
    const heartbeatPast = (at: number) =>
      until(`a heartbeat past ${at - START} ms`, async () => {
        clock.advance(1000);
        const self = (await store.workers(LIVENESS, clock.now())).find((w) => w.id !== 'other');
        return self !== undefined && self.heartbeatAt >= at ? true : undefined;
      });
    await heartbeatPast(START + 3000);
    // Another worker commits to the window and finishes, leaving it to this live one.
    await store.registerWorker({ id: 'other', job: 'default', pid: 1, host: 'elsewhere', watermark: clock.now() }, clock.now());
    await store.commit({
      job: 'default',
      now: clock.now(),
      windows: [{ start: START, end: START + HOUR, delta: wordDelta({ x: 2 }) }],
      sources: [],
      records: 2,
      rejected: 0,
      late: 0,
      worker: { id: 'other', watermark: clock.now(), idle: false },
    });
    await store.finishWorker('other', clock.now());
    await heartbeatPast(clock.now() + 2000);
    expect(run.published).toEqual([]);

    clock.set(START + HOUR + 10);
    await until('the window, fired by the timer', async () => {
      clock.advance(1000);
      return run.published.length > 0 ? true : undefined;
    });
    expect(run.published.map((w) => [w.start, w.state, totals(w)])).toEqual([[START, 'final', new Map([['x', 2]])]]);
    run.job.stop('SIGINT');
    await run.done;
  });
});

describe('StreamJob in event time', () => {
  const E0 = START; // a 10 s window start too
  const line = (ms: number, key: string) => `${E0 + ms} ${key}`;
  const eventConfig = (files: readonly string[], raw: Partial<RawStreamOptions>) =>
    config('count', files, { key: 'field=2', time: 'field=1', timeFormat: 'epoch-ms', window: '10s', ...raw });

  it('counts a record as late once the newest event time minus --lateness has passed its window', async () => {
    const text = [line(1000, 'a'), line(11_000, 'b'), line(8000, 'c'), line(12_000, 'd'), line(9000, 'e')].join('\n') + '\n';
    const run = start(eventConfig([file('events.txt', text)], { lateness: '2s' }), new TestClock(0));
    const summary = await run.done;
    expect([summary.records, summary.late]).toEqual([4, 1]);
    expect(run.late).toEqual([line(9000, 'e')]);
    expect(run.published.map((w) => [w.start, totals(w)])).toEqual([
      [E0, new Map([['a', 1], ['c', 1]])],
      [E0 + 10_000, new Map([['b', 1], ['d', 1]])],
    ]);
  });

  it('with --idle-timeout, quiet input lets the watermark follow the clock: the window fires, and what comes later for it is late', async () => {
    const wall = new TestClock(START);
    const run = start(eventConfig([], { listen: '127.0.0.1:0', idleTimeout: '10s' }), wall);
    const socket = await client(await run.listening);
    socket.write(`${line(1000, 'a')}\n${line(2000, 'b')}\n`);
    // Small steps, so the commit comes well before the idle timeout.
    await until('the first commit', async () => {
      wall.advance(100);
      return (await committedRecords(wall)) === 2 || undefined;
    });
    // Quiet, but not for the idle timeout yet: the watermark stays at the newest event time.
    await sleep(200);
    expect(run.published).toEqual([]);
    expect((await store.workers(LIVENESS, wall.now()))[0]).toMatchObject({ watermark: E0 + 2000, idle: false });

    wall.advance(30_000);
    await until('the window, fired by the idle watermark', () => (run.published.length > 0 ? true : undefined));
    expect(run.published.map((w) => [w.start, totals(w)])).toEqual([[E0, new Map([['a', 1], ['b', 1]])]]);
    await until('the idle heartbeat', async () => ((await store.workers(LIVENESS, wall.now()))[0]?.idle === true ? true : undefined));

    socket.write(`${line(3000, 'c')}\n`);
    await until('the late record', () => (run.late.length > 0 ? true : undefined));
    run.job.stop('SIGINT');
    const summary = await run.done;
    expect(run.late).toEqual([line(3000, 'c')]);
    expect([summary.stoppedBy, summary.records, summary.late]).toEqual(['SIGINT', 2, 1]);
  });
});

describe('StreamJob counting on threads', () => {
  /**
   * The real counting thread, bundled from its source as `npm run build` does; every thread started
   * is counted. A thread given a `gate` starts counting only once the gate is opened (openGate).
   */
  async function countingThreads(gate?: Int32Array) {
    const bundled = await build({
      entryPoints: [join(import.meta.dirname, '../../src/threads/count-worker.ts')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      logLevel: 'silent',
    });
    const held = "Atomics.wait(new Int32Array(require('node:worker_threads').workerData.gate), 0, 0);\n";
    const code = (gate === undefined ? '' : held) + bundled.outputFiles[0]!.text;
    const started = { threads: 0 };
    const spawn: SpawnCountWorker = (data) => {
      started.threads++;
      return new Worker(code, { eval: true, workerData: { ...data, gate: gate?.buffer } });
    };
    return { spawn, started };
  }

  function openGate(gate: Int32Array): void {
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
  }

  /** A ThreadedSink as a stream job builds it, fed by hand; `counted()` reads what the run's window tables hold. */
  function threadedSink(spawn: SpawnCountWorker, threads: string) {
    const cfg = config('count', [], { threads });
    const clock = new TestClock(START + 1000);
    const windowClock = new WindowClock({ windowMs: cfg.windowMs, eventTime: false, latenessMs: 0, idleTimeoutMs: null, retryMs: 1000 }, clock.now());
    const counters = new RunCounters();
    const chunkWall = new ChunkWall();
    const { sink: inline, windows } = recordsOf(cfg, reducerFor('count'), { clock: windowClock, wall: chunkWall, counters, dedupe: null });
    const door = { opened: 0, open: false };
    const letReadersIn = () => {
      door.opened++;
      door.open = true;
      return { close: () => void (door.open = false) };
    };
    const fail = (err: unknown) => {
      throw err;
    };
    const sink = new ThreadedSink(cfg, spawn, windows, windowClock, clock, fail, inline, chunkWall, letReadersIn, counters);
    const cursor = detachedCursor('stdin', 'stdin');
    const counted = () => {
      const delta = windows.at(windowClock.processingStart(clock.now())).unsettled();
      return new Map(delta.keys.slice(0, delta.size).map((key, i) => [key, delta.counts[i]!]));
    };
    return { sink, cursor, counters, counted, door };
  }

  it('counts a small input on the reading thread: no thread is started', async () => {
    const { spawn, started } = await countingThreads();
    const clock = new TestClock(START + 1000);
    const run = start(config('count', [file('small.txt', 'a b a\nc\n')], { threads: '4' }), clock, LIVENESS, spawn);
    const summary = await run.done;
    expect(summary.records).toBe(4);
    expect(started.threads).toBe(0);
    expect(totals(run.published[0]!)).toEqual(new Map([['a', 2], ['b', 1], ['c', 1]]));
  });

  it('starts every worker once a chunk is full (the reading thread is one of the threads), and counts exactly', async () => {
    const { spawn, started } = await countingThreads();
    const words = generateWordCorpus(seededRandom(0x7e57), 2 * 1024 * 1024, 5_000);
    const truth = wordCounts(words.toString('utf8'));
    const clock = new TestClock(START + 1000);
    const run = start(config('count', [file('words.txt', words)], { threads: '3' }), clock, LIVENESS, spawn);
    const summary = await run.done;
    expect(started.threads).toBe(2);
    expect(summary.records).toBe(total(truth));
    expect(totals(run.published[0]!)).toEqual(truth);
  });

  it('starts threads on lines that arrive in runs smaller than a chunk (a pipe reads 64 KB at a time)', async () => {
    const { spawn, started } = await countingThreads();
    const { sink, cursor, counters, counted } = threadedSink(spawn, '2');
    const words = generateWordCorpus(seededRandom(0x919e), 2 * 1024 * 1024, 5_000);
    // Runs of whole lines of at most 64 KB, as the framer hands over a pipe's reads.
    for (let at = 0; at < words.length; ) {
      const end = words.lastIndexOf(0x0a, Math.min(words.length, at + 65_536) - 1) + 1;
      sink.lines(cursor, words, at, end);
      at = end;
    }
    await sink.gather();
    await sink.close();
    expect(started.threads).toBe(1);
    expect(counters.records).toBe(total(wordCounts(words.toString('utf8'))));
    expect(counted()).toEqual(wordCounts(words.toString('utf8')));
  });

  it('counts on the reading thread what no worker has room for: a stalled worker is sent three chunks of bytes, the rest is counted here', async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const { spawn, started } = await countingThreads(gate);
    const { sink, cursor, counters, counted } = threadedSink(spawn, '2');
    const words = generateWordCorpus(seededRandom(0x5a1e), 2 * 1024 * 1024, 5_000);
    // Chunks of 256 KB, cut after the last whole line that fits.
    const cuts = [0];
    while (words.length - cuts.at(-1)! > 256 * 1024) cuts.push(words.lastIndexOf(0x0a, cuts.at(-1)! + 256 * 1024 - 1) + 1);
    sink.lines(cursor, words, 0, words.length);
    // The worker is sent chunks until three chunks' bytes wait for it, not counted yet; the full
    // chunks after them are counted here already, and the last one, not full, waits for more lines.
    let sent = 0;
    while (cuts[sent]! < 3 * 256 * 1024) sent++;
    expect(started.threads).toBe(1);
    expect(counters.records).toBe(total(wordCounts(words.subarray(cuts[sent], cuts.at(-1)).toString('utf8'))));
    openGate(gate);
    const truth = wordCounts(words.toString('utf8'));
    await sink.gather();
    await sink.close();
    expect(counters.records).toBe(total(truth));
    expect(counted()).toEqual(truth);
  });

  it('lets readers go on while a commit waits for the tables: what they read is the next batch, counted by a worker, accounted once the commit is over', async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const { spawn } = await countingThreads(gate);
    const { sink, cursor, counters, counted, door } = threadedSink(spawn, '2');
    const words = generateWordCorpus(seededRandom(0xa4ead), 4 * 1024 * 1024, 5_000);
    const half = words.lastIndexOf(0x0a, 2 * 1024 * 1024) + 1;
    const first = wordCounts(words.subarray(0, half).toString('utf8'));
    sink.lines(cursor, words, 0, half);

    const gathering = sink.gather();
    // The commit waits for the (stalled) worker: readers are let in, and what they read goes to the worker.
    expect(door).toEqual({ opened: 1, open: true });
    const recordsAtCut = counters.records;
    sink.lines(cursor, words, half, words.length);
    // A line the framer rejects while reading ahead lies past the batch's offsets too.
    counters.reject('NUL byte');
    expect(counters.records).toBe(recordsAtCut);
    expect(counters.rejected).toBe(0);
    openGate(gate);
    const committed = await gathering;
    expect(door.open).toBe(false);
    // The batch holds exactly what was read before the gather.
    expect(counted()).toEqual(first);
    expect(counters.records).toBe(total(first));
    expect(counters.rejected).toBe(0);
    counters.committed(0, 0);
    committed();
    // The rejection is the next batch's, and the run's totals had it at once.
    expect(counters.rejected).toBe(1);
    expect(counters.rejectedBy.get('NUL byte')).toBe(1);

    // The lines read ahead are the next batch's.
    const all = wordCounts(words.toString('utf8'));
    const next = await sink.gather();
    next();
    await sink.close();
    expect(counters.records).toBe(total(all) - total(first));
    expect(counted()).toEqual(all);
  });

  it('stops the run when a counting thread fails: the run fails with its error and commits nothing it did not count', async () => {
    // A thread that dies on its first chunk, as one that runs out of memory would.
    const spawn: SpawnCountWorker = (data) =>
      new Worker("require('node:worker_threads').parentPort.on('message', () => { throw new Error('counting thread broke'); });", {
        eval: true,
        workerData: data,
      });
    const words = generateWordCorpus(seededRandom(0xbad), 2 * 1024 * 1024, 5_000);
    const clock = new TestClock(START + 1000);
    const cfg = config('count', [file('words.txt', words)], { threads: '2', db: join(dir, 'x.db') });
    const run = start(cfg, clock, LIVENESS, spawn);
    await expect(run.done).rejects.toThrow('a counting thread failed: counting thread broke');
    expect(run.published).toEqual([]);
    expect(await committedRecords(clock)).toBe(0);
  });
});
