import type { StreamConfig } from '../config.js';
import { defaultThreads } from '../defaults.js';
import type { DeltaColumns } from '../model.js';
import type { WindowTable } from '../reducers/window-table.js';
import { WordCountTable } from '../reducers/word-count-table.js';
import type { EncodedDelta, EncodedWindow, FromCountWorker } from '../threads/protocol.js';
import { ThreadPayoff } from '../threads/payoff.js';
import { CountPool, type SpawnCountWorker } from '../threads/pool.js';
import type { Clock } from '../windows/tumbling.js';
import type { RunCounters } from './counters.js';
import type { OpenWindows } from './open-windows.js';
import type { LineSink } from './records.js';
import type { SourceCursor } from './source-cursors.js';
import type { WindowClock } from './window-clock.js';

/*
 * Counting on N threads (--threads N): the reading thread and N-1 worker threads.
 *
 * The reading thread does everything it does with one thread, and counts
 * what no worker takes: it reads the lanes, frames lines (LineFramer: offsets, bad lines, the BOM,
 * lines too long), decides each run of lines' window (processing time: the
 * window of the moment it was read, as WordBytes and TextRecords do), opens
 * that window (so it fires at its end), and moves the source's offset. The
 * framer's runs of whole lines are copied (one memcpy per run, none per
 * record) into chunks of ~256 KB, one source and one window each. A chunk's
 * buffer is transferred to the worker with the least bytes waiting, and back
 * once counted, for the next chunk; when every worker already has a few
 * chunks waiting, the reading thread counts the chunk itself, into the run's
 * window tables. So N threads count on N cores, no worker runs dry, and
 * reading never outruns counting: memory stays flat without a pause rule.
 *
 * Workers stop paying when nearly every record has a new key (threads/payoff.ts):
 * then the rest of the run is counted on the reading thread.
 *
 * Workers start with the first full chunk: until then (a small input, a
 * trickle between commits) the reading thread counts every chunk, so
 * `echo a | statesync count` pays for no thread.
 *
 * The reading thread counts a chunk with the job's own line sink, reading
 * the chunk's window from a ChunkWall. Each worker runs the same
 * single-threaded line sink (records.ts: WordBytes, TextWords, TextRecords)
 * into tables of its own, one per window, and answers each chunk with its
 * records, lines and rejections (added to the source's cursor and the run's
 * counters as they arrive).
 *
 * Every commit first marks where its batch ends (Committer: the sources'
 * offsets, the time of its watermark), then gathers (BatchParts.gather):
 * the chunk being filled is counted or sent, each worker is asked for its
 * tables, and since a worker answers in order, its tables come after every
 * chunk sent before; they are added (as delta columns, or a word count's
 * records) into the run's window tables. While the workers answer, readers
 * may go on (OneInFlight.letReadersIn): what they read is the next batch,
 * all of it sent to workers (up to READ_AHEAD_BYTES), none counted into the
 * run's tables, and the workers' answers for it are held back until the
 * commit is over. So the workers count on while this thread merges and
 * commits, a committed offset never passes an uncounted line, and
 * exactly-once, resume and SIGKILL are as with one thread. Finalization
 * always commits first (Finalizer.fireDue, the end of a run), and a batch's
 * watermark is its cut's, so it too sees everything counted.
 *
 * Results equal one thread's: a count is a sum of integers, min and max do
 * not depend on order, and sum keeps a double-double (exact for integers up
 * to ~2^106), merged as deltas from several commits already are.
 *
 * On one thread stays whatever depends on the order of records across
 * chunks: event time (a record is late by the watermark when it is read),
 * --dedupe (ids held per batch in read order) and --reject-output (lines
 * written in read order). Network inputs count on threads: each connection's
 * framer hands over whole lines only, so a chunk may hold lines of several
 * connections of one source.
 */

/** How many threads count the job's records, the reading thread included: --threads, else one per core (defaults.ts); 1 for an order-sensitive job (see above). */
export function countingThreads(config: StreamConfig): number {
  return oneThreadBecause(config) === null ? (config.threads ?? defaultThreads()) : 1;
}

/** Why the job counts on one thread whatever --threads says (see above), or null. */
export function oneThreadBecause(config: StreamConfig): string | null {
  if (config.time !== null) return 'event time decides lateness in the order records are read';
  if (config.dedupe !== null) return '--dedupe keeps the first of each id in the order records are read';
  if (config.rejectOutput !== null) return '--reject-output writes rejected lines in the order they are read';
  // Sketches are not sent between threads (yet).
  if (config.quantiles !== null || config.reduction === 'distinct') return `${config.reduction} keeps its sketches on one thread`;
  return null;
}

/** What a chunk's lines are counted on when the reading thread counts them: the window the chunk was read in. */
export class ChunkWall implements Clock {
  start = 0;
  now(): number {
    return this.start;
  }
}

/** Bytes of lines per chunk sent to a thread: few messages, little waiting at a commit. */
const CHUNK_BYTES = 256 * 1024;
/**
 * Bytes a worker may have waiting and still be sent the next chunk; past that the reading thread
 * counts it. Three chunks: a worker still has work while the reading thread counts one and frames the next.
 */
const SHARE_BYTES = 3 * CHUNK_BYTES;
/**
 * Bytes a worker may be sent while a commit waits for the workers' tables (reading ahead): it counts
 * them while the reading thread merges and commits. Bounded so memory stays flat, and because the
 * next commit waits until they are counted: 2 MB is ~50 ms of counting, so a window due right after
 * a commit is still published within ~100 ms of its end.
 */
const READ_AHEAD_BYTES = 8 * CHUNK_BYTES;

/** A chunk sent to a worker: its source, and the batch it belongs to. */
interface SentChunk {
  readonly cursor: SourceCursor;
  readonly epoch: number;
}

type Counted = Extract<FromCountWorker, { kind: 'counted' }>;

interface Filling {
  readonly cursor: SourceCursor;
  readonly start: number;
  readonly bytes: ArrayBuffer;
  readonly view: Uint8Array;
  used: number;
}

/** The reading thread's line sink when counting on threads: chunks counted here or sent out, tables back at each commit. */
export class ThreadedSink implements LineSink {
  private readonly pool: CountPool;
  private filling: Filling | null = null;
  private readonly payoff = new ThreadPayoff();
  /** Chunk buffers counted here or given back by the workers: memory stays flat however much is read. */
  private readonly spare: ArrayBuffer[] = [];
  /** The batch lines read now belong to: one more at each gather. */
  private epoch = 0;
  /** While a commit runs, the batch it commits: answers for later chunks wait in `deferred` until it is over. */
  private committing: number | null = null;
  private readonly deferred: Array<{ readonly cursor: SourceCursor; readonly answer: Counted }> = [];
  /** Reading ahead (lines read while a commit waits for the tables): every chunk goes to a worker. */
  private readingAhead = false;
  /** This gather sent lines read ahead: the workers hold some of the next batch, so they stay. */
  private sentAhead = false;
  /** While open, readers may read ahead; closed once the tables are back or enough is read ahead. */
  private door: { close(): void } | null = null;

  constructor(
    config: StreamConfig,
    spawn: SpawnCountWorker,
    private readonly windows: OpenWindows<WindowTable>,
    private readonly clock: WindowClock,
    private readonly wall: Clock,
    failed: (error: unknown) => void,
    /** The job's own line sink, reading its window from `chunkWall`: counts the chunks no worker is sent. */
    private readonly inline: LineSink,
    private readonly chunkWall: ChunkWall,
    /** Lets readers go on while a commit waits for the workers' tables, until closed (OneInFlight). */
    private readonly letReadersIn: () => { close(): void },
    private readonly counters: RunCounters,
  ) {
    this.pool = new CountPool(
      countingThreads(config) - 1,
      config,
      spawn,
      {
        counted: (tag, answer) => {
          const { cursor, epoch } = tag as SentChunk;
          this.payoff.counted(answer.records, answer.inserted);
          if (answer.bytes.byteLength === CHUNK_BYTES) this.spare.push(answer.bytes);
          if (this.committing !== null && epoch > this.committing) this.deferred.push({ cursor, answer });
          else this.account(cursor, answer);
        },
        failed,
      },
    );
  }

  lines(cursor: SourceCursor, buf: Buffer, start: number, end: number): void {
    const windowStart = this.clock.processingStart(this.wall.now());
    // Opened now, as with one thread: the window fires at its end whether or not its counts are back.
    this.windows.at(windowStart);
    let from = start;
    while (from < end) {
      let f = this.filling;
      if (f !== null && (f.cursor !== cursor || f.start !== windowStart)) {
        this.send(false);
        f = null;
      }
      f ??= this.filling = this.chunk(cursor, windowStart, CHUNK_BYTES);
      let to = end;
      if (end - from > f.view.length - f.used) {
        // Cut after the last whole line that fits, so chunks stay small enough to share out evenly.
        const newline = buf.lastIndexOf(10, from + f.view.length - f.used - 1);
        if (newline >= from) {
          to = newline + 1;
        } else if (f.used > 0) {
          this.send(true);
          continue;
        } else {
          // A line longer than a chunk gets a chunk of its own.
          const lineEnd = buf.indexOf(10, from);
          to = lineEnd < 0 || lineEnd >= end ? end : lineEnd + 1;
          f = this.filling = this.chunk(cursor, windowStart, to - from);
        }
      }
      f.view.set(buf.subarray(from, to), f.used);
      f.used += to - from;
      from = to;
      if (f.used === f.view.length || to < end) this.send(true);
    }
    // A run without a final newline ends its framer's input (the end, or a rotation): nothing may join its last word.
    if (buf[end - 1] !== 10) this.send(false);
  }

  /**
   * Before a commit: everything read so far is counted and in the run's window tables. While the
   * workers hand over their tables, readers may go on (reading ahead): what they read goes to the
   * workers as the next batch, whose counts wait until the commit is over (the returned function).
   */
  async gather(): Promise<() => void> {
    this.send(false);
    this.committing = this.epoch++;
    if (this.pool.started && this.payoff.paysOff) {
      this.readingAhead = true;
      this.counters.holdRejected();
      this.door = this.letReadersIn();
    }
    let tables: EncodedWindow[][];
    try {
      tables = await this.pool.collect();
    } finally {
      this.door?.close();
      this.door = null;
      // What was read ahead and not sent yet goes to a worker now, to count while this thread merges and commits.
      this.send(false);
      this.readingAhead = false;
    }
    for (const windows of tables) {
      for (const w of windows) {
        const table = this.windows.at(w.start);
        if (w.records === undefined) table.addDelta(deltaOf(w));
        else if (table instanceof WordCountTable) table.addRecords(w.records);
        else throw new Error('a counting thread handed over word-count records for another kind of table');
      }
    }
    // Everything the workers counted is here now: unless they pay, or hold lines read ahead, they are no longer needed.
    if (!this.payoff.paysOff && this.pool.started && !this.sentAhead) await this.pool.close();
    this.sentAhead = false;
    return () => {
      this.committing = null;
      this.counters.releaseRejected();
      for (const { cursor, answer } of this.deferred.splice(0)) this.account(cursor, answer);
    };
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** A worker's answer for a chunk of `cursor`: its lines, records and rejections join the batch being read. */
  private account(cursor: SourceCursor, answer: Counted): void {
    cursor.lines += answer.lines;
    cursor.records += answer.records;
    this.counters.records += answer.records;
    for (const [reason, n] of answer.rejected) this.counters.rejectCounted(reason, n);
  }

  private chunk(cursor: SourceCursor, start: number, size: number): Filling {
    const bytes = (size === CHUNK_BYTES ? this.spare.pop() : undefined) ?? new ArrayBuffer(size);
    return { cursor, start, bytes, view: new Uint8Array(bytes), used: 0 };
  }

  /** Hands the chunk being filled to a worker, or counts it here (see above); `full`: no more lines fit in it. */
  private send(full: boolean): void {
    const f = this.filling;
    if (f === null) return;
    this.filling = null;
    if (this.readingAhead) {
      const chunk: SentChunk = { cursor: f.cursor, epoch: this.epoch };
      this.pool.send(f.start, f.bytes, f.used, chunk);
      this.sentAhead = true;
      if (this.pool.leastBacklog() >= READ_AHEAD_BYTES) this.door?.close();
      return;
    }
    if (this.payoff.paysOff && (this.pool.started ? this.pool.leastBacklog() < SHARE_BYTES : full)) {
      const chunk: SentChunk = { cursor: f.cursor, epoch: this.epoch };
      this.pool.send(f.start, f.bytes, f.used, chunk);
      return;
    }
    this.chunkWall.start = f.start;
    this.inline.lines(f.cursor, Buffer.from(f.bytes, 0, f.used), 0, f.used, 0);
    if (f.bytes.byteLength === CHUNK_BYTES) this.spare.push(f.bytes);
  }
}

function deltaOf(w: EncodedDelta): DeltaColumns {
  return {
    size: w.size,
    keys: w.keys,
    counts: w.counts,
    sums: w.sums,
    sumLows: w.sumLows,
    mins: w.mins,
    maxs: w.maxs,
  };
}
