import { Worker } from 'node:worker_threads';
import type { StreamConfig } from '../config.js';
import { describeCause, RuntimeFailure } from '../errors.js';
import type { CountWorkerData, EncodedWindow, FromCountWorker, ToCountWorker } from './protocol.js';

/** count-worker.ts bundled into one script, put in by the bundler (scripts/bundle.mjs); absent when run from source. */
declare const STATESYNC_COUNT_WORKER: string | undefined;

/** Starts one counting thread running `config`'s job. */
export type SpawnCountWorker = (data: CountWorkerData) => Worker;

/**
 * The counting thread as the bundle carries it: started from its source text,
 * so the npm bundle and the single executable need no second file on disk.
 */
export const spawnBundledWorker: SpawnCountWorker = (data) => {
  if (typeof STATESYNC_COUNT_WORKER !== 'string') throw new Error('--threads needs the bundled CLI (npm run build)');
  return new Worker(STATESYNC_COUNT_WORKER, { eval: true, workerData: data });
};

/** What the pool tells its owner as counting threads answer. */
export interface PoolEvents {
  /** A chunk sent with `tag` is counted. */
  counted(tag: unknown, answer: Extract<FromCountWorker, { kind: 'counted' }>): void;
  /** A thread failed (threw, or exited unasked): the run fails with it. */
  failed(error: unknown): void;
}

interface Thread {
  readonly worker: Worker;
  /** The tags of chunks sent and not counted yet, in the order sent. */
  readonly sent: unknown[];
  /** Bytes sent, modulo 2^32. */
  bytesSent: number;
  /** Bytes counted, modulo 2^32, as the thread updates it. */
  readonly bytesCounted: Int32Array;
  /** The answer to the `collect` in flight. */
  tables: ((windows: EncodedWindow[]) => void) | null;
}

/**
 * N counting threads: chunks go to the thread with the least bytes waiting;
 * `collect` gathers what all of them counted. Threads start on the first
 * chunk, so a run with nothing to read starts none.
 */
export class CountPool {
  private threads: Thread[] = [];
  private failure: unknown = null;
  private readonly failedCollects: Array<(error: unknown) => void> = [];

  constructor(
    private readonly size: number,
    private readonly config: StreamConfig,
    private readonly spawn: SpawnCountWorker,
    private readonly events: PoolEvents,
  ) {}

  /** Whether the threads are running (they start with the first chunk sent). */
  get started(): boolean {
    return this.threads.length > 0;
  }

  /** Hands `bytes[0, length)` (transferred: the caller lets go of it) to a thread; `tag` comes back with its count. */
  send(start: number, bytes: ArrayBuffer, length: number, tag: unknown): void {
    if (this.threads.length === 0) this.startThreads();
    let thread = this.threads[0]!;
    for (const t of this.threads) if (backlog(t) < backlog(thread)) thread = t;
    thread.sent.push(tag);
    thread.bytesSent = (thread.bytesSent + length) | 0;
    const message: ToCountWorker = { kind: 'chunk', start, bytes, length };
    thread.worker.postMessage(message, [bytes]);
  }

  /** The fewest bytes any thread has waiting, now (not as of its last answer): 0 before the threads start. */
  leastBacklog(): number {
    let least = this.threads.length === 0 ? 0 : Infinity;
    for (const t of this.threads) least = Math.min(least, backlog(t));
    return least;
  }

  /** Everything counted since the last collect, per thread; every chunk sent before it is counted first. */
  async collect(): Promise<EncodedWindow[][]> {
    if (this.failure !== null) throw this.failure;
    return Promise.all(
      this.threads.map(
        (thread) =>
          new Promise<EncodedWindow[]>((resolve, reject) => {
            thread.tables = resolve;
            this.failedCollects.push(reject);
            const message: ToCountWorker = { kind: 'collect' };
            thread.worker.postMessage(message);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private startThreads(): void {
    for (let i = 0; i < this.size; i++) {
      const progress = new SharedArrayBuffer(4);
      const thread: Thread = {
        worker: this.spawn({ config: this.config, progress }),
        sent: [],
        bytesSent: 0,
        bytesCounted: new Int32Array(progress),
        tables: null,
      };
      thread.worker.on('message', (message: FromCountWorker) => this.onMessage(thread, message));
      thread.worker.on('error', (error) => this.fail(error));
      thread.worker.on('exit', (code) => {
        if (this.threads.includes(thread)) this.fail(new Error(`it exited (code ${code})`));
      });
      this.threads.push(thread);
    }
  }

  private onMessage(thread: Thread, message: FromCountWorker): void {
    if (message.kind === 'counted') {
      this.events.counted(thread.sent.shift(), message);
      return;
    }
    const resolve = thread.tables;
    thread.tables = null;
    resolve?.(message.windows);
    if (this.threads.every((t) => t.tables === null)) this.failedCollects.length = 0;
  }

  private fail(cause: unknown): void {
    if (this.failure !== null) return;
    // One line for the user, exit 1: what counted nothing cannot be committed, and a rerun resumes.
    const error = new RuntimeFailure(`a counting thread failed: ${describeCause(cause)}`, { cause });
    this.failure = error;
    for (const reject of this.failedCollects.splice(0)) reject(error);
    this.events.failed(error);
  }
}

/** Bytes sent to `thread` and not counted yet. */
function backlog(thread: Thread): number {
  return (thread.bytesSent - Atomics.load(thread.bytesCounted, 0)) | 0;
}
