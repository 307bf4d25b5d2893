import { randomUUID } from 'node:crypto';
import type { StreamConfig } from './config.js';
import { StaleBatchError, RuntimeFailure } from './errors.js';
import type { WindowResult } from './model.js';
import { makeExtractor, type Extractor } from './records/extract.js';
import { LineFramer, type RejectReason } from './records/framer.js';
import { describeSpec } from './records/specs.js';
import { countWords, type WordTally } from './records/words.js';
import { PartialTable } from './reducers/partial-table.js';
import { WordCountTable } from './reducers/word-count-table.js';
import { reducerFor } from './reducers/reducers.js';
import { summarizerFor } from './reducers/summarize.js';
import { openFileSource } from './sources/file.js';
import type { Source } from './sources/source.js';
import { stdinSource } from './sources/stdin.js';
import type { JobDefinition, SourceProgress, StateStore } from './state/store.js';
import { formatDuration } from './windows/duration.js';
import { windowStartOf, type Clock } from './windows/tumbling.js';

type WindowTable = WordCountTable | PartialTable;

export type StopReason = 'end' | 'SIGINT' | 'SIGTERM' | 'EPIPE';

export interface StreamDeps {
  readonly store: StateStore;
  readonly clock: Clock;
  /** Receives each finalized window, in window order. */
  readonly publish: (result: WindowResult) => void;
  /** One-line diagnostics for stderr. */
  readonly note: (line: string) => void;
}

export interface RunSummary {
  readonly stoppedBy: StopReason;
  readonly records: number;
  readonly rejected: ReadonlyMap<RejectReason, number>;
}

/** The options that shape a job's results; pinned in the database on first run. */
export function jobDefinition(config: StreamConfig): JobDefinition {
  return {
    reduction: config.reduction,
    window: formatDuration(config.windowMs),
    key: describeSpec(config.key),
    delimiter: config.delimiter ?? 'whitespace',
    'ignore-case': String(config.ignoreCase),
  };
}

/** How often the timer checks for windows to fire and commits to make. */
const TICK_MS = 50;

/**
 * One stream run: sources -> framer -> key extraction -> per-window partial
 * tables -> periodic commits -> finalization -> publish. Processing time: a
 * chunk belongs to the window of the clock when it was read.
 */
export class StreamJob {
  private readonly reducer;
  private readonly summarize;
  private readonly extractKey: Extractor | null;
  /** Uncommitted partials per window start. */
  private pending = new Map<number, WindowTable>();
  private table: WindowTable | null = null;
  /** Plain word count: bytes are counted without decoding (the benchmark's hot path). */
  private readonly byteWords: boolean;
  private tableEnd = -Infinity;
  private readonly progress = new Map<string, { kind: string; fromOffset: number; toOffset: number; lines: number }>();
  private pendingRecords = 0;
  private pendingRejected = 0;
  private totalRecords = 0;
  private readonly rejected = new Map<RejectReason, number>();
  private lastCommit: number;
  private nextFire = Infinity;
  private stopReason: StopReason | null = null;
  private activeSource: Source | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failure: unknown = null;
  private readonly tally: WordTally = { words: 0, lines: 0 };

  constructor(
    private readonly config: StreamConfig,
    private readonly deps: StreamDeps,
  ) {
    this.reducer = reducerFor(config.reduction);
    this.summarize = summarizerFor(this.reducer);
    this.extractKey =
      config.key.kind === 'word' || config.key.kind === 'line' ? null : makeExtractor(config.key, config.delimiter);
    this.lastCommit = deps.clock.now();
    this.byteWords = config.key.kind === 'word' && !config.ignoreCase && config.reduction === 'count';
  }

  /** Asks the run to stop: it stops reading, commits what it read, finalizes and returns. */
  stop(reason: StopReason): void {
    if (this.stopReason !== null) return;
    this.stopReason = reason;
    this.activeSource?.stop();
  }

  async run(): Promise<RunSummary> {
    const { store, clock } = this.deps;
    store.ensureJob(this.config.job, jobDefinition(this.config), clock.now());
    // Windows left open by an earlier run that has since ended are due now.
    this.fireDueWindows(clock.now());
    this.timer = setInterval(() => this.onTick(), TICK_MS);
    try {
      const runId = randomUUID();
      const multiple = this.config.inputs.length > 1;
      for (const input of this.config.inputs) {
        if (this.stopReason !== null) break;
        const override =
          this.config.source === null ? null : multiple ? `${this.config.source}:${input.kind === 'file' ? input.path : '-'}` : this.config.source;
        const source =
          input.kind === 'file' ? await openFileSource(input.path, override) : stdinSource(override, runId);
        await this.consume(source);
      }
      if (this.failure !== null) throw this.failure;
      this.commit();
      // End of input (or a clean stop): nothing more will arrive for any open window.
      this.publishAll(store.finalizeUpTo(this.config.job, Number.MAX_SAFE_INTEGER, this.summarize, clock.now()));
    } finally {
      if (this.timer !== null) clearInterval(this.timer);
    }
    return { stoppedBy: this.stopReason ?? 'end', records: this.totalRecords, rejected: this.rejected };
  }

  private async consume(source: Source): Promise<void> {
    const { store } = this.deps;
    const committed = store.sourceOffset(this.config.job, source.id);
    const dbOffset = committed?.offset ?? 0;
    let readFrom = source.resumable ? dbOffset : 0;
    if (source.resumable && committed !== undefined && source.size !== null) {
      if (source.size === dbOffset) {
        this.deps.note(
          `${source.label} was already consumed by job '${this.config.job}' (${dbOffset} bytes); nothing new to count ` +
            `(use another --source or --job to count it again)`,
        );
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
    const entry = { kind: source.kind, fromOffset: dbOffset, toOffset: readFrom, lines: 0 };
    this.progress.set(source.id, entry);
    const framer = new LineFramer(
      { lines: (buf, start, end) => this.onLines(buf, start, end), reject: (reason) => this.onReject(reason) },
      this.config.maxLineBytes,
      readFrom,
    );
    this.activeSource = source;
    try {
      for await (const chunk of source.read(readFrom)) {
        framer.push(chunk);
        entry.toOffset = framer.offset;
        if (this.failure !== null || this.stopReason !== null) break;
        const now = this.deps.clock.now();
        if (now - this.lastCommit >= this.config.commitIntervalMs) this.commit();
        if (now >= this.nextFire) this.fireDueWindows(now);
      }
      // A final unterminated line counts at a real end of input. On an interrupted read a
      // replayable source leaves it to the rerun; any other source would lose it, so it counts now.
      if (this.failure === null && (this.stopReason === null || !source.resumable)) {
        framer.end();
        entry.toOffset = framer.offset;
      }
    } finally {
      this.activeSource = null;
      source.stop();
    }
  }

  private onLines(buf: Buffer, start: number, end: number): void {
    const now = this.deps.clock.now();
    if (now >= this.tableEnd) this.switchWindow(now);
    const entry = this.progress.get(this.activeSource!.id)!;
    const tally = this.tally;
    if (this.byteWords) {
      tally.words = 0;
      tally.lines = 0;
      (this.table as WordCountTable).addWords(buf, start, end, tally);
      this.pendingRecords += tally.words;
      entry.lines += tally.lines;
      return;
    }
    const table = this.table as PartialTable;
    let text = buf.toString('utf8', start, end);
    if (this.config.ignoreCase) text = text.toLowerCase();
    if (this.config.key.kind === 'word') {
      tally.words = 0;
      tally.lines = 0;
      countWords(text, table, tally);
      this.pendingRecords += tally.words;
      entry.lines += tally.lines;
      return;
    }
    let lineStart = 0;
    const n = text.length;
    while (lineStart < n) {
      let lineEnd = text.indexOf('\n', lineStart);
      const next = lineEnd < 0 ? n : lineEnd + 1;
      if (lineEnd < 0) lineEnd = n;
      entry.lines++;
      if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      if (lineEnd > lineStart) {
        const line = text.slice(lineStart, lineEnd);
        const key = this.extractKey === null ? line : this.extractKey(line);
        if (key === null) {
          this.onReject('no key');
        } else {
          table.increment(key);
          this.pendingRecords++;
        }
      }
      lineStart = next;
    }
  }

  private onReject(reason: RejectReason): void {
    this.pendingRejected++;
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  private switchWindow(now: number): void {
    const start = windowStartOf(now, this.config.windowMs);
    let table = this.pending.get(start);
    if (table === undefined) {
      table = this.byteWords ? new WordCountTable() : new PartialTable(this.reducer.needsValue);
      this.pending.set(start, table);
    }
    this.table = table;
    this.tableEnd = start + this.config.windowMs;
    if (this.tableEnd < this.nextFire) this.nextFire = this.tableEnd;
  }

  private onTick(): void {
    try {
      const now = this.deps.clock.now();
      if (now - this.lastCommit >= this.config.commitIntervalMs) this.commit();
      if (now >= this.nextFire) this.fireDueWindows(now);
    } catch (err) {
      // Surface timer failures through the read loop, which owns error handling.
      this.failure = err;
      this.activeSource?.stop();
    }
  }

  /** Commits, then finalizes and publishes every window that has ended by `now`. */
  private fireDueWindows(now: number): void {
    this.commit();
    this.nextFire = Infinity;
    if (this.tableEnd > now) this.nextFire = this.tableEnd;
    this.publishAll(this.deps.store.finalizeUpTo(this.config.job, now, this.summarize, now));
  }

  private publishAll(results: readonly WindowResult[]): void {
    for (const result of results) this.deps.publish(result);
  }

  /** One transaction: every window's deltas plus how far each source got. */
  private commit(): void {
    const now = this.deps.clock.now();
    this.lastCommit = now;
    const sources: SourceProgress[] = [];
    for (const [id, p] of this.progress) {
      if (p.toOffset !== p.fromOffset || p.lines > 0) {
        sources.push({ source: id, kind: p.kind, fromOffset: p.fromOffset, toOffset: p.toOffset, lines: p.lines });
      }
    }
    if (this.pending.size === 0 && sources.length === 0 && this.pendingRejected === 0) return;
    const windows = [...this.pending].map(([start, delta]) => ({ start, end: start + this.config.windowMs, delta }));
    try {
      this.deps.store.commit({
        job: this.config.job,
        now,
        windows,
        sources,
        records: this.pendingRecords,
        rejected: this.pendingRejected,
        late: 0,
      });
    } catch (err) {
      if (err instanceof StaleBatchError) {
        throw new RuntimeFailure(
          `${err.message}; two runs are reading the same source at once — stop one, or give each its own --source`,
        );
      }
      throw err;
    }
    this.totalRecords += this.pendingRecords;
    for (const p of this.progress.values()) {
      p.fromOffset = p.toOffset;
      p.lines = 0;
    }
    this.pending = new Map();
    this.table = null;
    this.tableEnd = -Infinity;
    this.pendingRecords = 0;
    this.pendingRejected = 0;
  }
}
