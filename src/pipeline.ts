import { randomUUID } from 'node:crypto';
import type { StreamConfig } from './config.js';
import { FencedError, RuntimeFailure, StaleBatchError, StatesyncError } from './errors.js';
import type { WindowResult } from './model.js';
import { LineFramer, type FramerOutput, type RejectReason } from './records/framer.js';
import { makeRecordReader, type ParsedRecord, type RecordReader } from './records/record-reader.js';
import { describeSpec } from './records/specs.js';
import { countWords, type WordTally } from './records/words.js';
import { PartialTable } from './reducers/partial-table.js';
import { reducerFor } from './reducers/reducers.js';
import { summarizerFor } from './reducers/summarize.js';
import { WordCountTable } from './reducers/word-count-table.js';
import { openFileSource } from './sources/file.js';
import type { Connection, NetworkSource, NetworkStats, Source } from './sources/source.js';
import { connectSource, listenSource } from './sources/tcp.js';
import { stdinSource } from './sources/stdin.js';
import type { HeldWindow, JobDefinition, Liveness, SourceProgress, StateStore, WindowDelta, WorkerBeat } from './state/port.js';
import { formatDuration } from './windows/duration.js';
import { windowStartOf, type Clock } from './windows/tumbling.js';

type WindowTable = WordCountTable | PartialTable;

export type StopReason = 'end' | 'SIGINT' | 'SIGTERM' | 'EPIPE' | 'bad input';

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
  readonly reject?: (reason: RejectReason, source: string, offset: number, line: Buffer | string) => void;
  /** This process, as a worker, and how to tell other workers' liveness. */
  readonly liveness: Liveness;
  readonly pid: number;
  /** Told how far a file of known size has been read (for a progress bar on a terminal). */
  readonly progress?: (label: string, bytesRead: number, totalBytes: number) => void;
}

export interface RunSummary {
  readonly stoppedBy: StopReason;
  readonly records: number;
  readonly late: number;
  readonly duplicates: number;
  readonly rejected: ReadonlyMap<RejectReason, number>;
  /** An input that failed part way (corrupt gzip data); what came before it is committed. */
  readonly failedInput: StatesyncError | null;
}

/** The options that shape a job's results; pinned in the database on first run. */
export function jobDefinition(config: StreamConfig): JobDefinition {
  return {
    reduction: config.reduction,
    window: formatDuration(config.windowMs),
    key: describeSpec(config.key),
    delimiter: config.key.kind === 'word' || config.key.kind === 'line' ? 'none' : (config.delimiter ?? 'whitespace'),
    'ignore-case': String(config.ignoreCase),
    value: config.value === null ? 'none' : describeSpec(config.value),
    time: config.time === null ? 'processing' : describeSpec(config.time),
    'time-format': config.time === null ? 'none' : config.timeFormat,
    lateness: config.time === null ? 'none' : formatDuration(config.latenessMs),
    dedupe: config.dedupe === null ? 'none' : describeSpec(config.dedupe),
  };
}

/** How often the timer checks for windows to fire, commits to make and idleness. */
const TICK_MS = 50;

interface SourceEntry {
  kind: string;
  label: string;
  identity: string | null;
  network: NetworkStats | null;
  fromOffset: number;
  toOffset: number;
  lines: number;
  /** Newest event time among this source's records read so far (event time only). */
  maxEventTime: number | null;
}

/**
 * One stream run: sources -> framer -> records -> per-window partial tables
 * -> periodic commits -> finalization -> publish.
 *
 * The watermark decides when a window is finished (its end <= watermark):
 * in processing time it is the clock; in event time it is the newest event
 * time read minus the lateness. A record whose window has already ended by
 * the watermark at the moment it is read is late. Because the newest event
 * time is committed with each source's offset, a rerun after a crash makes
 * exactly the same late decisions as an uninterrupted run.
 */
export class StreamJob {
  private readonly reducer;
  private readonly summarize;
  private readonly reader: RecordReader | null;
  private readonly record: ParsedRecord = { key: '', value: 0, time: NaN, id: '' };
  /** This process's worker id; a new one after being fenced. */
  private workerId = randomUUID();
  /** --dedupe: the batch's records, aggregated only once the store has said which ids are new. */
  private readonly dedupeBatch = { ids: [] as string[], starts: [] as number[], keys: [] as string[], values: [] as number[] };
  private readonly idsInBatch = new Set<string>();
  private pendingDuplicates = 0;
  private totalDuplicates = 0;
  private nextFinalizeAttempt = 0;
  private nextCompaction = Infinity;
  private readonly eventTime: boolean;
  /** Plain word count: bytes are counted without decoding (the benchmark's hot path). */
  private readonly byteWords: boolean;
  /** Uncommitted partials per window start. */
  private pending = new Map<number, WindowTable>();
  /**
   * For a word-count table: the delta rows it committed, whose sum its totals
   * hold, so finalizing merges only the others' deltas. null once that no
   * longer holds (a rejoin after being fenced out, a delta the store did not
   * write as sent).
   */
  private ownDeltaIds = new Map<number, number[] | null>();
  private table: WindowTable | null = null;
  private tableStart = NaN;
  /** Processing time: the end of the window `table` belongs to. */
  private tableEnd = -Infinity;
  private readonly progress = new Map<string, SourceEntry>();
  private maxEventTime = -Infinity;
  /** Wall clock and newest event time at the last record, for --idle-timeout. */
  private lastRecordWall: number;
  private eventTimeAtLastRecord = -Infinity;
  /** Finalized window starts above the watermark (possible after a rerun or an idle advance). */
  private finalizedAhead = new Set<number>();
  /** Earliest end among windows holding data that is not finalized yet. */
  private nextFire = Infinity;
  private pendingRecords = 0;
  private pendingRejected = 0;
  private pendingLate = 0;
  private totalRecords = 0;
  private totalLate = 0;
  private readonly rejected = new Map<RejectReason, number>();
  private lastCommit: number;
  private stopReason: StopReason | null = null;
  /** Everything that must stop reading when the run is asked to stop. */
  private readonly active = new Set<{ stop(): void }>();
  private wakeOnStop: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failure: unknown = null;
  private failedInput: StatesyncError | null = null;
  /**
   * The one store operation in flight (commit, finalization, compaction), or
   * null. While it runs nothing reads input: readers wait for it before
   * handling their next chunk, and the timer skips its tick.
   */
  private storeOp: Promise<void> | null = null;
  private readonly tally: WordTally = { words: 0, lines: 0 };

  constructor(
    private readonly config: StreamConfig,
    private readonly deps: StreamDeps,
  ) {
    this.reducer = reducerFor(config.reduction);
    this.summarize = summarizerFor(this.reducer);
    this.eventTime = config.time !== null;
    this.reader =
      config.key.kind === 'word'
        ? null
        : makeRecordReader({
            key: config.key,
            delimiter: config.delimiter,
            value: config.value,
            time: config.time,
            timeFormat: config.timeFormat,
            id: config.dedupe,
          });
    this.lastCommit = deps.clock.now();
    this.lastRecordWall = this.lastCommit;
    this.byteWords = config.key.kind === 'word' && !config.ignoreCase && config.reduction === 'count';
  }

  /** Asks the run to stop: it stops reading, commits what it read, finalizes and returns. */
  stop(reason: StopReason): void {
    if (this.stopReason !== null) return;
    this.stopReason = reason;
    for (const source of this.active) source.stop();
    this.wakeOnStop?.();
  }

  async run(): Promise<RunSummary> {
    const { store, clock } = this.deps;
    await store.ensureJob(this.config.job, jobDefinition(this.config), clock.now(), this.config.retainMs);
    this.nextCompaction = clock.now() + this.compactionEveryMs();
    const sources = await this.openSources();
    const network = this.config.network.map((n) =>
      n.kind === 'listen' ? listenSource(n, this.config.maxConnections) : connectSource(n, this.deps.note),
    );
    // Bind first: a port in use is a usage error before anything is read.
    for (const n of network) {
      this.active.add(n);
      await n.start();
      // Says which port `--listen 0` got, and tells scripts the server is ready.
      if (n.kind === 'tcp-listen' && !this.config.output.quiet) this.deps.note(`listening on ${n.address}`);
    }
    if (this.eventTime) await this.restoreWatermark(sources);
    await this.register();
    // Windows left open by earlier runs may already be due.
    await this.fireDueWindows();
    this.timer = setInterval(() => this.onTick(), TICK_MS);
    try {
      const readers = network.map((n) => this.consumeNetwork(n));
      if (this.config.follow) {
        // Followed files never end: read them all at once, each its own source.
        await Promise.all(sources.map((source) => this.consume(source)));
      } else {
        for (const source of sources) {
          if (this.stopReason !== null || this.failure !== null) break;
          await this.consume(source);
        }
      }
      // Network inputs never end by themselves: run until SIGINT/SIGTERM (or a failure).
      if (network.length > 0 && this.stopReason === null && this.failure === null) {
        await new Promise<void>((resolve) => {
          this.wakeOnStop = resolve;
        });
      }
      for (const n of network) n.stop();
      await Promise.all(readers);
      clearInterval(this.timer);
      while (this.storeOp !== null) await this.storeOp;
      if (this.failure !== null) throw this.failure;
      await this.commit();
      // End of input (or a clean stop): this worker holds nothing open any more. What no
      // other live worker still holds is finished now; the last worker finishes the rest.
      await store.finishWorker(this.workerId, clock.now());
      // State in memory ends with this run: no later one can amend what it publishes now.
      await this.finalize(null, clock.now(), this.config.db === null);
      await this.collapseHeldWindows();
    } finally {
      if (this.timer !== null) clearInterval(this.timer);
    }
    return {
      stoppedBy: this.stopReason ?? 'end',
      records: this.totalRecords,
      late: this.totalLate,
      duplicates: this.totalDuplicates,
      rejected: this.rejected,
      failedInput: this.failedInput,
    };
  }

  private async openSources(): Promise<Source[]> {
    const runId = randomUUID();
    const { inputs, source } = this.config;
    const sources: Source[] = [];
    for (const input of inputs) {
      const override =
        source === null ? null : inputs.length > 1 ? `${source}:${input.kind === 'file' ? input.path : '-'}` : source;
      sources.push(
        input.kind === 'file' ? await openFileSource(input.path, override, this.config.follow) : stdinSource(override, runId),
      );
    }
    return sources;
  }

  /** The newest event time committed for this run's sources, and the windows already finalized beyond it. */
  private async restoreWatermark(sources: readonly Source[]): Promise<void> {
    for (const source of sources) {
      if (!source.resumable) continue;
      const committed = await this.deps.store.sourceOffset(this.config.job, source.id);
      if (committed?.maxEventTime != null && committed.maxEventTime > this.maxEventTime) {
        this.maxEventTime = committed.maxEventTime;
      }
    }
    this.eventTimeAtLastRecord = this.maxEventTime;
    this.finalizedAhead = new Set(await this.deps.store.finalizedStartsEndingAfter(this.config.job, this.watermark(0)));
  }

  private watermark(now: number): number {
    return this.eventTime ? this.maxEventTime - this.config.latenessMs : now;
  }

  private async register(): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.registerWorker(
      { id: this.workerId, job: this.config.job, pid: this.deps.pid, host: this.deps.liveness.host, watermark: this.committedWatermark(now) },
      now,
    );
  }

  /** What this worker tells the others: all its data for windows ending by this is committed. */
  private beat(now: number): WorkerBeat {
    const idle =
      this.eventTime && this.config.idleTimeoutMs !== null && now - this.lastRecordWall >= this.config.idleTimeoutMs;
    return { id: this.workerId, watermark: this.committedWatermark(now), idle };
  }

  private committedWatermark(now: number): number | null {
    const mark = this.watermark(now);
    return Number.isFinite(mark) ? mark : null;
  }

  private async consume(source: Source): Promise<void> {
    const { store } = this.deps;
    const committed = await store.sourceOffset(this.config.job, source.id);
    const dbOffset = committed?.offset ?? 0;
    let readFrom = source.resumable ? dbOffset : 0;
    if (source.resumable && committed !== undefined && source.size !== null) {
      if (source.size === dbOffset) {
        this.noteConsumed(source, dbOffset);
        return;
      }
      if (source.size < dbOffset) {
        this.deps.note(
          `${source.label} is shorter (${source.size} bytes) than the ${dbOffset} bytes already consumed; ` +
            `it was truncated or rewritten, counting it from the start`,
        );
        readFrom = 0;
      } else if (dbOffset > 0) {
        this.deps.note(`${source.label}: resuming after ${dbOffset} bytes already committed`);
      }
    }
    if (source.resumable && committed?.identity != null && source.identity !== null && committed.identity !== source.identity) {
      // A followed path whose file was replaced since the offset was committed.
      if (dbOffset > 0) this.deps.note(`${source.label} was replaced since the last run; reading the new file from its start`);
      readFrom = 0;
    } else if (source.resumable && dbOffset > 0 && source.size === null && source.kind === 'file' && !source.compressed) {
      this.deps.note(`${source.label}: resuming after ${dbOffset} bytes already committed`);
    }
    const entry: SourceEntry = {
      kind: source.kind,
      label: source.label,
      identity: source.identity,
      network: null,
      fromOffset: dbOffset,
      toOffset: readFrom,
      lines: 0,
      maxEventTime: committed?.maxEventTime ?? null,
    };
    this.progress.set(source.id, entry);
    const keepRejected = this.deps.reject !== undefined;
    const newFramer = (offset: number) => new LineFramer(this.framerOutput(entry), this.config.maxLineBytes, offset, keepRejected);
    let framer = newFramer(readFrom);
    let restarted = false;
    const onRestart = (identity: string) => {
      // Rotated or truncated (--follow), or a gzip file rewritten shorter: finish the old content,
      // commit it, start the new file at 0. A store operation of its own, so the new file's chunks wait for it.
      restarted = true;
      void this.exclusive(async () => {
        framer.end();
        entry.toOffset = framer.offset;
        await this.commit();
        this.deps.note(
          source.compressed
            ? `${source.label} holds less text than the ${dbOffset} bytes already consumed; it was rewritten, counting it from the start`
            : `${source.label} was rotated or truncated; reading it again from its start`,
        );
        entry.identity = identity;
        entry.toOffset = 0;
        framer = newFramer(0);
      });
    };
    this.active.add(source);
    const read = source.read(readFrom, onRestart);
    const chunks = (
      source.compressed && readFrom > 0 ? this.noteResumeAfterSkip(source, readFrom, read, () => restarted) : read
    )[Symbol.asyncIterator]();
    try {
      let bytesRead = readFrom;
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await chunks.next();
        } catch (err) {
          if (!(err instanceof StatesyncError)) throw err;
          // Input that fails part way: what came before it is committed and published as at a
          // stop (a rerun resumes there), then the run fails with it; its partial line is dropped.
          this.failedInput = err;
          this.stop('bad input');
          return;
        }
        if (next.done === true) break;
        const chunk = next.value;
        while (this.storeOp !== null) await this.storeOp;
        framer.push(chunk);
        entry.toOffset = framer.offset;
        bytesRead += chunk.length;
        if (source.size !== null) this.deps.progress?.(source.label, bytesRead, source.size);
        if (this.failure !== null || this.stopReason !== null) break;
        if (this.isDue(this.deps.clock.now())) await this.exclusive(() => this.commitAndFinalizeDue());
      }
      while (this.storeOp !== null) await this.storeOp;
      if (this.failure === null) this.endOfInput(source, framer, entry);
    } finally {
      await chunks.return?.();
      this.active.delete(source);
      source.stop();
    }
  }

  private noteConsumed(source: Source, offset: number): void {
    this.deps.note(
      `${source.label} was already consumed by job '${this.config.job}' (${offset} bytes${source.compressed ? ' of text' : ''}); ` +
        `nothing new to count (use another --source or --job to count it again)`,
    );
  }

  /**
   * A gzip file's text has no length known up front: whether a rerun finds anything after the
   * committed text shows only once that is decompressed again and skipped.
   */
  private async *noteResumeAfterSkip(
    source: Source,
    committed: number,
    chunks: AsyncIterable<Buffer>,
    restarted: () => boolean,
  ): AsyncGenerator<Buffer> {
    let fresh = false;
    for await (const chunk of chunks) {
      if (!fresh && !restarted()) this.deps.note(`${source.label}: resuming after ${committed} bytes of text already committed`);
      fresh = true;
      yield chunk;
    }
    if (!fresh && !restarted() && this.stopReason === null) this.noteConsumed(source, committed);
  }

  /**
   * A final line without a newline. A replayable source leaves it to the next run when that
   * run can resume (durable state: the file may still grow, and counting now would split its
   * last word) or when reading was interrupted; otherwise nothing would ever count it, so it counts now.
   */
  private endOfInput(source: Source, framer: LineFramer, entry: SourceEntry): void {
    if (source.resumable && (this.config.db !== null || this.stopReason !== null)) {
      const waiting = framer.pendingBytes;
      if (this.stopReason === null && waiting > 0) {
        this.deps.note(
          `${source.label}: ${waiting} byte${waiting === 1 ? '' : 's'} after the last newline ` +
            `${waiting === 1 ? 'is' : 'are'} left for the next run`,
        );
      }
      return;
    }
    framer.end();
    entry.toOffset = framer.offset;
  }

  /** Reads every connection of a network source concurrently, each framed into lines on its own. */
  private async consumeNetwork(source: NetworkSource): Promise<void> {
    const committed = await this.deps.store.sourceOffset(this.config.job, source.id);
    // Not replayable: the offset only counts bytes received, across runs.
    const entry: SourceEntry = {
      kind: source.kind,
      label: source.label,
      identity: null,
      network: source.stats,
      fromOffset: committed?.offset ?? 0,
      toOffset: committed?.offset ?? 0,
      lines: 0,
      maxEventTime: committed?.maxEventTime ?? null,
    };
    this.progress.set(source.id, entry);
    const open: Promise<void>[] = [];
    for await (const connection of source.connections()) {
      open.push(this.consumeConnection(connection, entry));
    }
    await Promise.all(open);
  }

  private async consumeConnection(connection: Connection, entry: SourceEntry): Promise<void> {
    const framer = new LineFramer(this.framerOutput(entry), this.config.maxLineBytes, 0, this.deps.reject !== undefined);
    try {
      for await (const chunk of connection.chunks) {
        while (this.storeOp !== null) await this.storeOp;
        framer.push(chunk);
        entry.toOffset += chunk.length;
        if (this.failure !== null) return;
        if (this.isDue(this.deps.clock.now())) await this.exclusive(() => this.commitAndFinalizeDue());
      }
      // A clean close ends the last line even without a newline; a reset drops it.
      if (connection.closedCleanly()) framer.end();
    } catch (err) {
      this.failure ??= err;
      this.stop('SIGTERM');
    }
  }

  /** Whether a commit or a finalization is due (checked after each chunk and on every tick). */
  private isDue(now: number): boolean {
    return (
      now - this.lastCommit >= this.config.commitIntervalMs || (this.watermark(now) >= this.nextFire && now >= this.nextFinalizeAttempt)
    );
  }

  /** Commits when the interval is up and finalizes what is due. */
  private async commitAndFinalizeDue(): Promise<void> {
    const now = this.deps.clock.now();
    if (now - this.lastCommit >= this.config.commitIntervalMs) await this.commit();
    if (this.watermark(now) >= this.nextFire && now >= this.nextFinalizeAttempt) await this.fireDueWindows();
  }

  /**
   * Runs `op` as the one store operation in flight, after the one in flight
   * if any. It never rejects: a failure stops the run, which reports it.
   */
  private exclusive(op: () => Promise<void>): Promise<void> {
    const started = this.storeOp === null ? op() : this.storeOp.then(op);
    const running: Promise<void> = started
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        if (this.storeOp === running) this.storeOp = null;
      });
    this.storeOp = running;
    return running;
  }

  /** Stops the run on a failure; the read loops end and run() throws it. */
  private fail(err: unknown): void {
    this.failure ??= err;
    for (const source of this.active) source.stop();
    this.wakeOnStop?.();
  }

  private framerOutput(entry: SourceEntry): FramerOutput {
    return {
      lines: (buf, start, end, offset) => this.onLines(entry, buf, start, end, offset),
      reject: (reason, offset, buf, start, end) => {
        this.onReject(reason);
        this.deps.reject?.(reason, entry.label, offset, buf.subarray(start, end));
      },
    };
  }

  private onLines(entry: SourceEntry, buf: Buffer, start: number, end: number, offset: number): void {
    const tally = this.tally;
    if (!this.eventTime) this.useProcessingWindow(this.deps.clock.now());
    if (this.byteWords) {
      tally.words = 0;
      tally.lines = 0;
      (this.table as WordCountTable).addWords(buf, start, end, tally);
      this.pendingRecords += tally.words;
      entry.lines += tally.lines;
      return;
    }
    const text = buf.toString('utf8', start, end);
    if (this.reader === null) {
      tally.words = 0;
      tally.lines = 0;
      // Only words remain of the text, so folding all of it folds exactly the keys.
      countWords(this.config.ignoreCase ? text.toLowerCase() : text, this.table as PartialTable, tally);
      this.pendingRecords += tally.words;
      entry.lines += tally.lines;
      return;
    }
    const n = text.length;
    let lineStart = 0;
    // --reject-output: how far into the text (in characters, and in bytes) the last rejected line was.
    let rejectChars = 0;
    let rejectBytes = 0;
    while (lineStart < n) {
      let lineEnd = text.indexOf('\n', lineStart);
      const next = lineEnd < 0 ? n : lineEnd + 1;
      if (lineEnd < 0) lineEnd = n;
      entry.lines++;
      if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      if (lineEnd > lineStart && !isBlank(text, lineStart, lineEnd)) {
        const line = text.slice(lineStart, lineEnd);
        const problem = this.reader!(line, this.record);
        if (problem === null) {
          this.onRecord(line, entry);
        } else {
          this.onReject(problem);
          if (this.deps.reject !== undefined) {
            rejectBytes += Buffer.byteLength(text.slice(rejectChars, lineStart));
            rejectChars = lineStart;
            this.deps.reject(problem, entry.label, offset + rejectBytes, line);
          }
        }
      }
      lineStart = next;
    }
  }

  private onRecord(line: string, entry: SourceEntry): void {
    const record = this.record;
    // Fold the key only: JSON paths, regexes and delimiters still see the line as written.
    if (this.config.ignoreCase) record.key = record.key.toLowerCase();
    if (this.eventTime) {
      const time = record.time;
      const start = windowStartOf(time, this.config.windowMs);
      if (start + this.config.windowMs <= this.maxEventTime - this.config.latenessMs || this.finalizedAhead.has(start)) {
        this.pendingLate++;
        this.deps.late?.(line);
      } else {
        if (start !== this.tableStart) this.useWindow(start);
        this.addToTable(record);
      }
      // A late record still shows how far event time has got.
      if (time > this.maxEventTime) this.maxEventTime = time;
      if (entry.maxEventTime === null || time > entry.maxEventTime) entry.maxEventTime = time;
      this.lastRecordWall = this.deps.clock.now();
      this.eventTimeAtLastRecord = this.maxEventTime;
      return;
    }
    this.addToTable(record);
  }

  private addToTable(record: ParsedRecord): void {
    if (this.config.dedupe !== null) {
      this.holdForDedupe(record);
      return;
    }
    const table = this.table as PartialTable;
    if (this.reducer.needsValue) table.addValue(record.key, record.value);
    else table.increment(record.key);
    this.pendingRecords++;
  }

  /** Keeps a record with an id until commit, when the store tells whether the id is new. */
  private holdForDedupe(record: ParsedRecord): void {
    this.pendingRecords++;
    if (this.idsInBatch.has(record.id)) {
      this.pendingDuplicates++;
      return;
    }
    this.idsInBatch.add(record.id);
    const batch = this.dedupeBatch;
    batch.ids.push(record.id);
    batch.starts.push(this.tableStart);
    batch.keys.push(record.key);
    batch.values.push(record.value);
  }

  private onReject(reason: RejectReason): void {
    this.pendingRejected++;
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  private useProcessingWindow(now: number): void {
    if (now < this.tableEnd) return;
    // A record belongs to the window of the moment it is read, never another: one published
    // provisional is amended; one already final takes nothing (the store counts it late).
    const start = windowStartOf(now, this.config.windowMs);
    this.useWindow(start);
    this.tableEnd = start + this.config.windowMs;
  }

  private useWindow(start: number): void {
    let table = this.pending.get(start);
    if (table === undefined) {
      table = this.byteWords ? new WordCountTable() : new PartialTable(this.reducer.needsValue);
      this.pending.set(start, table);
      const end = start + this.config.windowMs;
      if (end < this.nextFire) this.nextFire = end;
    }
    this.table = table;
    this.tableStart = start;
  }

  private onTick(): void {
    // A store operation in flight: the next tick looks again.
    if (this.storeOp !== null) return;
    const now = this.deps.clock.now();
    if (this.eventTime && this.config.idleTimeoutMs !== null) this.advanceIdleWatermark(now);
    if (!this.isDue(now) && now < this.nextCompaction) return;
    void this.exclusive(async () => {
      await this.commitAndFinalizeDue();
      if (now >= this.nextCompaction) {
        // Keeps a long-running stream's database bounded: results past retention, expired ids.
        await this.deps.store.compact(now, null);
        this.nextCompaction = now + this.compactionEveryMs();
      }
    });
  }

  /** Often enough that nothing outlives its retention by much; at most once a minute. */
  private compactionEveryMs(): number {
    return Math.max(1000, Math.min(60_000, this.config.retainMs / 2));
  }

  /** After --idle-timeout without records, event time moves on with the wall clock. */
  private advanceIdleWatermark(now: number): void {
    const quiet = now - this.lastRecordWall;
    if (quiet < this.config.idleTimeoutMs! || this.eventTimeAtLastRecord === -Infinity) return;
    const advanced = this.eventTimeAtLastRecord + quiet;
    if (advanced > this.maxEventTime) this.maxEventTime = advanced;
  }

  /**
   * Commits (moving this worker's watermark), then finalizes and publishes
   * every window all live workers have passed. When others still hold the
   * earliest window, the next try waits a commit interval rather than
   * taking the write lock on every tick.
   */
  private async fireDueWindows(): Promise<void> {
    await this.commit();
    const now = this.deps.clock.now();
    await this.finalize(this.workerId, now);
    // Windows past the watermark are published now, by another worker already, or held by a slower
    // one (whose finalization then merges from the database): their tables are no longer needed.
    const watermark = this.watermark(now);
    for (const start of this.pending.keys()) {
      if (start + this.config.windowMs <= watermark) {
        this.pending.delete(start);
        this.ownDeltaIds.delete(start);
      }
    }
    this.nextFire = (await this.deps.store.earliestOpenWindowEnd(this.config.job)) ?? Infinity;
    if (this.watermark(now) >= this.nextFire) this.nextFinalizeAttempt = now + Math.min(this.config.commitIntervalMs, 1000);
  }

  /**
   * Finalizes what is ready, starting from the windows this worker holds
   * merged in memory; the tables the store used are dropped. `self` null:
   * this worker has finished and holds nothing back.
   */
  private async finalize(self: string | null, now: number, lastRun = false): Promise<void> {
    const { store, liveness } = this.deps;
    const outcome = await store.finalizeReady({
      job: this.config.job,
      self,
      liveness,
      summarize: this.summarize,
      now,
      held: this.heldWindows(),
      lastRun,
    });
    for (const start of outcome.usedHeld) {
      this.pending.delete(start);
      this.ownDeltaIds.delete(start);
    }
    this.publishAll(outcome.published);
  }

  private publishAll(results: readonly WindowResult[]): void {
    for (const result of results) this.deps.publish(result);
  }

  /**
   * One transaction: every window's deltas, how far each source got and this
   * worker's heartbeat and watermark. A worker the others declared dead
   * (paused too long) rejoins under a new id and commits as that.
   */
  private async commit(): Promise<void> {
    try {
      await this.commitOnce();
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      this.deps.note(`${err.message}; rejoining as a new worker`);
      // The job may be gone too (a forced snapshot restore replaced the state).
      await this.deps.store.ensureJob(this.config.job, jobDefinition(this.config), this.deps.clock.now(), this.config.retainMs);
      this.workerId = randomUUID();
      // Deltas committed under the old id may be gone (a forced restore): merge from the database only.
      for (const start of this.ownDeltaIds.keys()) this.ownDeltaIds.set(start, null);
      await this.register();
      await this.commitOnce();
    }
  }

  private async commitOnce(): Promise<void> {
    const now = this.deps.clock.now();
    this.lastCommit = now;
    const sources: SourceProgress[] = [];
    // What each source's batch covers: its entry moves on by exactly that once the commit is done.
    const covered: Array<{ entry: SourceEntry; toOffset: number; lines: number }> = [];
    for (const [id, p] of this.progress) {
      if (p.toOffset !== p.fromOffset || p.lines > 0 || p.network !== null) {
        covered.push({ entry: p, toOffset: p.toOffset, lines: p.lines });
        sources.push({
          source: id,
          kind: p.kind,
          fromOffset: p.fromOffset,
          toOffset: p.toOffset,
          lines: p.lines,
          maxEventTime: p.maxEventTime,
          identity: p.identity,
          clients: p.network?.clients ?? 0,
          refused: p.network?.refused ?? 0,
        });
      }
    }
    const worker = this.beat(now);
    const windows: WindowDelta[] = [];
    for (const [start, table] of this.pending) {
      const delta = table instanceof WordCountTable ? table.unsettled() : table;
      if (delta.size > 0) windows.push({ start, end: start + this.config.windowMs, delta });
    }
    if (windows.length === 0 && sources.length === 0 && this.pendingRejected === 0 && this.pendingLate === 0 && this.pendingRecords === 0) {
      await this.deps.store.heartbeat(worker, now);
      return;
    }
    const batch = this.dedupeBatch;
    let outcome;
    try {
      outcome = await this.deps.store.commit({
        job: this.config.job,
        now,
        windows,
        worker,
        ...(this.config.dedupe === null
          ? {}
          : {
              dedupe: {
                ids: batch.ids,
                starts: batch.starts,
                keys: batch.keys,
                values: this.reducer.needsValue ? batch.values : null,
                windowMs: this.config.windowMs,
                expiresAt: now + this.config.dedupeTtlMs,
              },
            }),
        sources,
        // Duplicates within the batch never reach the store; it counts the ones it recognises.
        records: this.pendingRecords - this.pendingDuplicates,
        rejected: this.pendingRejected,
        late: this.pendingLate,
        duplicates: this.pendingDuplicates,
      });
    } catch (err) {
      if (err instanceof StaleBatchError) {
        throw new RuntimeFailure(
          `${err.message}; two runs are reading the same source at once — stop one, or give each its own --source`,
        );
      }
      throw err;
    }
    this.recordOwnDeltas(windows, outcome.deltaIds);
    const duplicates = outcome.duplicates;
    this.totalRecords += this.pendingRecords - duplicates - outcome.lateRecords;
    this.totalLate += this.pendingLate + outcome.lateRecords;
    this.totalDuplicates += duplicates;
    batch.ids.length = 0;
    batch.starts.length = 0;
    batch.keys.length = 0;
    batch.values.length = 0;
    this.idsInBatch.clear();
    this.pendingDuplicates = 0;
    for (const { entry, toOffset, lines } of covered) {
      entry.fromOffset = toOffset;
      entry.lines -= lines;
    }
    this.pending = this.settledTables();
    this.table = null;
    this.tableStart = NaN;
    this.tableEnd = -Infinity;
    this.pendingRecords = 0;
    this.pendingRejected = 0;
    this.pendingLate = 0;
  }

  /**
   * After a commit: word-count tables stay until their window is finalized,
   * so the next commit sends only the keys that moved, no key is inserted
   * twice, and finalizing starts from their totals; other tables are freed.
   */
  private settledTables(): Map<number, WindowTable> {
    const kept = new Map<number, WindowTable>();
    for (const [start, table] of this.pending) {
      if (table instanceof WordCountTable) {
        table.settle();
        kept.set(start, table);
      }
    }
    return kept;
  }

  /** Notes the delta row each word-count table's commit became; with --dedupe the store builds other deltas. */
  private recordOwnDeltas(windows: readonly WindowDelta[], deltaIds: ReadonlyMap<number, number>): void {
    for (const { start } of windows) {
      const ids = this.ownDeltaIds.get(start);
      if (!(this.pending.get(start) instanceof WordCountTable) || ids === null) continue;
      const id = deltaIds.get(start);
      if (id === undefined || this.config.dedupe !== null) this.ownDeltaIds.set(start, null);
      else if (ids === undefined) this.ownDeltaIds.set(start, [id]);
      else ids.push(id);
    }
  }

  /**
   * At the end, for the windows another live worker will finalize: this
   * worker's deltas of each become one row, summed here from memory while the
   * others still read, so the last worker merges one row per worker.
   */
  private async collapseHeldWindows(): Promise<void> {
    for (const [start, table] of this.pending) {
      const ids = this.ownDeltaIds.get(start);
      if (!(table instanceof WordCountTable) || ids === undefined || ids === null || ids.length < 2 || !table.isSettled()) continue;
      table.countTotals();
      const window = { start, end: start + this.config.windowMs, delta: table.unsettled() };
      await this.deps.store.collapseDeltas(this.config.job, window, this.workerId, ids, this.deps.clock.now());
    }
    this.pending.clear();
    this.ownDeltaIds.clear();
  }

  /**
   * The word-count windows this worker holds merged in memory, settled: a
   * finalization merges only the other workers' deltas into them.
   */
  private heldWindows(): HeldWindow[] {
    const held: HeldWindow[] = [];
    for (const [start, table] of this.pending) {
      const ids = this.ownDeltaIds.get(start);
      if (table instanceof WordCountTable && ids !== undefined && ids !== null && table.isSettled()) {
        held.push({ workerId: this.workerId, start, deltaIds: ids, totals: table });
      }
    }
    return held;
  }
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}
