import type { StreamConfig } from '../config.js';
import type { StatesyncError } from '../errors.js';
import type { RunMetrics, SourceMetrics, WindowResult } from '../model.js';
import { REJECT_REASONS, type RejectReason } from '../records/framer.js';
import type { WindowTable } from '../reducers/window-table.js';
import { reducerFor } from '../reducers/reducers.js';
import { summarizerFor } from '../reducers/summarize.js';
import { connectSource, listenSource } from '../sources/tcp.js';
import type { Liveness, StateStore } from '../state/port.js';
import type { Clock } from '../windows/tumbling.js';
import { Committer } from './committer.js';
import { RunCounters } from './counters.js';
import { DedupeBuffer } from './dedupe-buffer.js';
import { jobDefinition } from './definition.js';
import { openInputs, readFileSource, type FileHost } from './file-input.js';
import { Finalizer } from './finalizer.js';
import { readNetworkSource } from './network-input.js';
import { OneInFlight } from './one-in-flight.js';
import type { OpenWindows } from './open-windows.js';
import { framerFor, recordsOf, type LineSink, type RejectOutput } from './records.js';
import { RunStop, type StopReason } from './run-stop.js';
import { SourceCursors } from './source-cursors.js';
import { ChunkWall, countingThreads, oneThreadBecause, ThreadedSink } from './threaded-sink.js';
import { WindowClock } from './window-clock.js';
import { spawnBundledWorker, type SpawnCountWorker } from '../threads/pool.js';

export interface StreamDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  /** Receives each finalized window, in window order. */
  readonly publish: (result: WindowResult) => void;
  /** One-line diagnostics for stderr. */
  readonly note: (line: string) => void;
  /** Receives the original line of each late record (--late-output). */
  readonly late?: (line: string) => void;
  /**
   * Receives each rejected line (--reject-output): its source's label, where
   * the line starts in it (in bytes), and the line without its line ending:
   * its bytes when they are no valid text (of a line too long only the first
   * ones), else the decoded string.
   */
  readonly reject?: RejectOutput;
  /** This process, as a worker, and how to tell other workers' liveness. */
  readonly liveness: Liveness;
  readonly pid: number;
  /** Told how far a file of known size has been read (for a progress bar on a terminal). */
  readonly progress?: (label: string, bytesRead: number, totalBytes: number) => void;
  /** Starts a counting thread (--threads); the bundled one unless given. */
  readonly spawnCounter?: SpawnCountWorker;
  /** Told how long each commit's store transaction took, in seconds (--metrics). */
  readonly commitTimed?: (seconds: number) => void;
}

export interface RunSummary {
  readonly stoppedBy: 'end' | Exclude<StopReason, 'failure'>;
  readonly records: number;
  readonly late: number;
  readonly duplicates: number;
  readonly rejected: ReadonlyMap<RejectReason, number>;
  /** An input that failed part way (corrupt gzip data); what came before it is committed. */
  readonly failedInput: StatesyncError | null;
}

/** How often the timer checks for windows to fire, commits to make and idleness. */
const TICK_MS = 50;

/** Compaction by a running worker: often enough that nothing outlives its retention by much; at most once a minute. */
function compactionEveryMs(retainMs: number): number {
  return Math.max(1000, Math.min(60_000, retainMs / 2));
}

/**
 * One stream run, wired from its parts: the inputs are read in lanes
 * (file-input, network-input), their lines become records (records.ts) in the
 * tables of the open windows, placed in time by the window clock; the
 * committer commits them with the sources' offsets, and the finalizer
 * publishes what every live worker has passed. One store operation is in
 * flight at a time, and the run stops through one RunStop.
 */
export class StreamJob {
  private readonly stopper = new RunStop();
  private readonly ops = new OneInFlight((err) => this.stopper.fail(err));
  private readonly counters = new RunCounters();
  private readonly cursors = new SourceCursors();
  private readonly clock: WindowClock;
  private readonly sink: LineSink;
  /** --threads: the sink that hands lines to counting threads; null when this thread counts. */
  private readonly threaded: ThreadedSink | null;
  private readonly committer: Committer;
  private readonly finalizer: Finalizer;
  private readonly windows: OpenWindows<WindowTable>;
  private failedInput: StatesyncError | null = null;
  private nextCompaction = Infinity;

  constructor(
    private readonly config: StreamConfig,
    private readonly deps: StreamDeps,
  ) {
    const reducer = reducerFor(config.reduction, config.quantiles);
    this.clock = new WindowClock(
      {
        windowMs: config.windowMs,
        eventTime: config.time !== null,
        latenessMs: config.latenessMs,
        idleTimeoutMs: config.idleTimeoutMs,
        retryMs: Math.min(config.commitIntervalMs, 1000),
      },
      deps.clock.now(),
    );
    const dedupe =
      config.dedupe === null
        ? null
        : new DedupeBuffer(reducer.needsValue, config.windowMs, config.dedupeTtlMs, reducer.sketch?.name === 'quantile');
    const threads = countingThreads(config) > 1;
    const chunkWall = new ChunkWall();
    const { sink, windows } = recordsOf(config, reducer, {
      clock: this.clock,
      // On threads, the reading thread counts a chunk (until threads start) in the window it was read in.
      wall: threads ? chunkWall : deps.clock,
      counters: this.counters,
      dedupe,
      late: deps.late,
      reject: deps.reject,
    });
    this.threaded = threads
      ? new ThreadedSink(
          config,
          deps.spawnCounter ?? spawnBundledWorker,
          windows,
          this.clock,
          deps.clock,
          (err) => this.stopper.fail(err),
          sink,
          chunkWall,
          () => this.ops.letReadersIn(),
          this.counters,
        )
      : null;
    this.sink = this.threaded ?? sink;
    const { clock, cursors, counters, threaded } = this;
    this.committer = new Committer(
      { job: config.job, definition: jobDefinition(config), retainMs: config.retainMs, pid: deps.pid, host: deps.liveness.host },
      deps.store,
      deps.clock,
      deps.note,
      config.commitIntervalMs,
      { windows, clock, cursors, counters, dedupe, gather: threaded === null ? undefined : () => threaded.gather() },
      deps.commitTimed,
    );
    this.windows = windows;
    this.finalizer = new Finalizer(
      config.job,
      deps.store,
      deps.clock,
      deps.liveness,
      summarizerFor(reducer),
      deps.publish,
      this.committer,
      windows,
      clock,
    );
  }

  /** Asks the run to stop: it stops reading, commits what it read, finalizes and returns. */
  stop(reason: 'SIGINT' | 'SIGTERM' | 'EPIPE'): void {
    this.stopper.stop(reason);
  }

  async run(): Promise<RunSummary> {
    const { config } = this;
    const { store, clock, note } = this.deps;
    await store.ensureJob(config.job, jobDefinition(config), clock.now(), config.retainMs);
    // Only when asked for: by default such a job just runs on one thread.
    const oneThread = config.threads !== null && config.threads > 1 ? oneThreadBecause(config) : null;
    if (oneThread !== null && !config.output.quiet) note(`counting on one thread: ${oneThread}`);
    this.nextCompaction = clock.now() + compactionEveryMs(config.retainMs);
    const sources = await openInputs(config);
    const network = config.network.map((n) =>
      n.kind === 'listen' ? listenSource(n, config.maxConnections) : connectSource(n, note),
    );
    // Bind first: a port in use is a usage error before anything is read.
    for (const n of network) {
      this.stopper.onStop(() => n.stop());
      await n.start();
      // Says which port `--listen 0` got, and tells scripts the server is ready.
      if (n.kind === 'tcp-listen' && !config.output.quiet) note(`listening on ${n.address}`);
    }
    if (this.clock.eventTime) {
      // The newest event time committed for this run's sources, and the windows already finalized beyond it.
      for (const source of sources) {
        const committed = source.resumable ? await store.sourceOffset(config.job, source.id) : undefined;
        if (committed?.maxEventTime != null) this.clock.restore(committed.maxEventTime);
      }
      this.clock.setFinalizedAhead(await store.finalizedStartsEndingAfter(config.job, this.clock.watermark(0)));
    }
    await this.committer.register();
    // Windows left open by earlier runs may already be due.
    await this.finalizer.fireDue();
    const timer = setInterval(() => this.onTick(), TICK_MS);
    try {
      const host = this.host();
      const readers = network.map((n) => readNetworkSource(n, host));
      if (config.follow) {
        // Followed files never end: read them all at once, each its own source.
        await Promise.all(sources.map((source) => readFileSource(source, host)));
      } else {
        for (const source of sources) {
          if (this.stopper.stopped) break;
          await readFileSource(source, host);
        }
      }
      // Network inputs never end by themselves: they run until a stop, which stops them.
      if (network.length > 0) await this.stopper.whenStopped();
      await Promise.all(readers);
      clearInterval(timer);
      await this.ops.whenIdle();
      this.stopper.throwIfFailed();
      await this.committer.commit();
      // End of input (or a clean stop): this worker holds nothing open any more. What no
      // other live worker still holds is finished now; the last worker finishes the rest.
      await this.committer.finish();
      // State in memory ends with this run: no later one can amend what it publishes now.
      await this.finalizer.finalize(null, clock.now(), config.db === null);
      await this.finalizer.closeWindows();
    } finally {
      clearInterval(timer);
      await this.threaded?.close();
    }
    const reason = this.stopper.reason;
    return {
      stoppedBy: reason === null || reason === 'failure' ? 'end' : reason,
      records: this.counters.totalRecords,
      late: this.counters.totalLate,
      duplicates: this.counters.totalDuplicates,
      rejected: this.counters.rejectedBy,
      failedInput: this.failedInput,
    };
  }

  /** The run so far, from its own counters (--metrics reads this at each scrape). */
  metrics(): RunMetrics {
    const { counters } = this;
    const sources: SourceMetrics[] = [];
    for (const [id, c] of this.cursors.entries()) {
      sources.push({
        id,
        kind: c.kind,
        records: c.records,
        bytes: c.bytes,
        clients: c.network?.clients ?? null,
        refused: c.network?.refused ?? null,
      });
    }
    return {
      job: this.config.job,
      sources,
      rejected: new Map(REJECT_REASONS.map((reason) => [reason, counters.rejectedBy.get(reason) ?? 0])),
      // Records read late wait in the batch; those the store finds late join the total at their commit.
      late: counters.totalLate + counters.late,
      duplicates: counters.totalDuplicates,
      commits: this.committer.commits,
      watermark: this.clock.committedWatermark(this.deps.clock.now()),
      openWindows: this.windows.size,
      running: !this.stopper.stopped,
    };
  }

  /** What the input lanes need from the run. */
  private host(): FileHost {
    const { config, deps } = this;
    return {
      stop: this.stopper,
      ops: this.ops,
      job: config.job,
      durable: config.db !== null,
      store: deps.store,
      cursors: this.cursors,
      note: deps.note,
      progress: deps.progress,
      due: () => this.isDue(deps.clock.now()),
      catchUp: () => this.ops.run(() => this.commitAndFinalizeDue(), true),
      commit: () => this.committer.commit(),
      framer: (cursor, offset) => framerFor(this.sink, cursor, this.counters, deps.reject, config.maxLineBytes, offset),
      badInput: (error) => {
        this.failedInput = error;
        this.stopper.stop('bad input');
      },
    };
  }

  private onTick(): void {
    // A store operation in flight: the next tick looks again.
    if (this.ops.busy) return;
    const now = this.deps.clock.now();
    this.clock.advanceIdle(now);
    if (!this.isDue(now) && now < this.nextCompaction) return;
    void this.ops.run(async () => {
      await this.commitAndFinalizeDue();
      if (now >= this.nextCompaction) {
        // Keeps a long-running stream's database bounded: results past retention, expired ids.
        await this.deps.store.compact(now, null);
        this.nextCompaction = now + compactionEveryMs(this.config.retainMs);
      }
    }, true);
  }

  /** Whether a commit or a finalization is due (checked after each chunk and on every tick). */
  private isDue(now: number): boolean {
    return this.committer.commitDue(now) || this.clock.fireDue(now);
  }

  /**
   * Finalizes what is due, or commits when the interval is up. A finalization commits first
   * itself: one commit, so a window is not held up by a second one waiting for the counting
   * threads to count what was read ahead during the first.
   */
  private async commitAndFinalizeDue(): Promise<void> {
    const now = this.deps.clock.now();
    if (this.clock.fireDue(now)) {
      await this.finalizer.fireDue();
    } else if (this.committer.commitDue(now)) {
      await this.committer.commit();
      this.clock.storeWindowsOpenUntil(await this.deps.store.earliestOpenWindowEnd(this.config.job));
    }
  }
}
