import type { StreamConfig } from '../config.js';
import { LineFramer, type RejectReason } from '../records/framer.js';
import { makeRecordReader, type ParsedRecord, type RecordReader } from '../records/record-reader.js';
import { countWords, type WordTally } from '../records/words.js';
import { PartialTable } from '../reducers/partial-table.js';
import type { Reducer } from '../reducers/reducers.js';
import { SketchTable } from '../reducers/sketch-table.js';
import { DistinctSketch } from '../reducers/sketches/distinct-sketch.js';
import { QuantileSketch } from '../reducers/sketches/quantile-sketch.js';
import type { WindowTable } from '../reducers/window-table.js';
import { WordCountTable } from '../reducers/word-count-table.js';
import type { Clock } from '../windows/tumbling.js';
import type { RunCounters } from './counters.js';
import type { DedupeBuffer } from './dedupe-buffer.js';
import { OpenWindows } from './open-windows.js';
import type { SourceCursor } from './source-cursors.js';
import type { WindowClock } from './window-clock.js';

/** Lines -> records: takes runs of whole, valid lines (once per chunk) and adds their records to the open windows. */
export interface LineSink {
  /** The lines in buf[start, end) of `cursor`'s source; `offset` is where buf[start] lies in the lane. */
  lines(cursor: SourceCursor, buf: Buffer, start: number, end: number, offset: number): void;
}

/** Receives each rejected line (--reject-output): its source's label, where it starts, and its content. */
export type RejectOutput = (reason: RejectReason, source: string, offset: number, line: Buffer | string) => void;

/** What turning lines into records needs from the run. */
export interface RecordParts {
  readonly clock: WindowClock;
  readonly wall: Clock;
  readonly counters: RunCounters;
  readonly dedupe: DedupeBuffer | null;
  readonly late?: ((line: string) => void) | undefined;
  readonly reject?: RejectOutput | undefined;
}

/** Whether the job is a plain word count, counted as bytes into WordCountTables (everything else uses PartialTables). */
export function countsWordBytes(config: StreamConfig): boolean {
  return config.key.kind === 'word' && !config.ignoreCase && config.reduction === 'count';
}

/**
 * The job's line sink and the open windows it fills, of the table kind it
 * needs: a plain word count counts bytes into WordCountTables; quantile and
 * distinct into SketchTables; everything else goes into PartialTables.
 */
export function recordsOf(
  config: StreamConfig,
  reducer: Reducer,
  parts: RecordParts,
): { readonly sink: LineSink; readonly windows: OpenWindows<WindowTable> } {
  const { clock, wall, counters } = parts;
  const opened = (start: number) => clock.windowOpened(start);
  const { key } = config;
  if (countsWordBytes(config)) {
    const windows = new OpenWindows(config.windowMs, () => new WordCountTable(), opened);
    return { sink: new WordBytes(windows, clock, wall, counters), windows };
  }
  const { delimiter, value, time, timeFormat } = config;
  const sketch = reducer.sketch?.name ?? null;
  const records = <T extends WindowTable>(windows: OpenWindows<T>, add: AddRecord<T>) => {
    if (key.kind === 'word') throw new Error('a word key has no value'); // refused with the options
    const valueAs = sketch === 'distinct' ? 'text' : 'number';
    const reader = makeRecordReader({ key, delimiter, value, valueAs, time, timeFormat, id: config.dedupe });
    const options = { reader, ignoreCase: config.ignoreCase, add, late: parts.late, reject: parts.reject };
    return { sink: new TextRecords(options, windows, clock, wall, counters, parts.dedupe), windows };
  };
  if (sketch === 'quantile') {
    const windows = new OpenWindows(config.windowMs, () => new SketchTable(() => new QuantileSketch()), opened);
    return records(windows, (table, record) => table.record(record.key).add(record.value));
  }
  if (sketch === 'distinct') {
    const windows = new OpenWindows(config.windowMs, () => new SketchTable(() => new DistinctSketch()), opened);
    return records(windows, (table, record) => table.record(record.key).addString(record.text));
  }
  const windows = new OpenWindows(config.windowMs, () => new PartialTable(reducer.needsValue), opened);
  if (key.kind === 'word') return { sink: new TextWords(config.ignoreCase, windows, clock, wall, counters), windows };
  const add: AddRecord<PartialTable> = reducer.needsValue
    ? (table, record) => table.addValue(record.key, record.value)
    : (table, record) => table.increment(record.key);
  return records(windows, add);
}

/** Adds one parsed record to its window's table (chosen once per job: the hot path calls it per record). */
export type AddRecord<T> = (table: T, record: ParsedRecord) => void;

/** A framer feeding `sink`, counting what it rejects. */
export function framerFor(
  sink: LineSink,
  cursor: SourceCursor,
  counters: RunCounters,
  reject: RejectOutput | undefined,
  maxLineBytes: number,
  offset: number,
): LineFramer {
  const output = {
    lines: (buf: Buffer, start: number, end: number, at: number) => sink.lines(cursor, buf, start, end, at),
    reject: (reason: RejectReason, at: number, buf: Buffer, start: number, end: number) => {
      counters.reject(reason);
      reject?.(reason, cursor.label, at, buf.subarray(start, end));
    },
  };
  return new LineFramer(output, maxLineBytes, offset, reject !== undefined);
}

/**
 * Plain word count (no --ignore-case): words are counted as bytes, never
 * decoded, straight into the window's WordCountTable (the benchmark's hot path).
 */
export class WordBytes implements LineSink {
  private readonly tally: WordTally = { words: 0, lines: 0 };

  constructor(
    private readonly windows: OpenWindows<WordCountTable>,
    private readonly clock: WindowClock,
    private readonly wall: Clock,
    private readonly counters: RunCounters,
  ) {}

  lines(cursor: SourceCursor, buf: Buffer, start: number, end: number): void {
    const tally = this.tally;
    tally.words = 0;
    tally.lines = 0;
    this.windows.at(this.clock.processingStart(this.wall.now())).addWords(buf, start, end, tally);
    this.counters.records += tally.words;
    cursor.records += tally.words;
    cursor.lines += tally.lines;
  }
}

/** Word count with --ignore-case: the text is folded, then its words counted as strings. */
export class TextWords implements LineSink {
  private readonly tally: WordTally = { words: 0, lines: 0 };

  constructor(
    private readonly ignoreCase: boolean,
    private readonly windows: OpenWindows<PartialTable>,
    private readonly clock: WindowClock,
    private readonly wall: Clock,
    private readonly counters: RunCounters,
  ) {}

  lines(cursor: SourceCursor, buf: Buffer, start: number, end: number): void {
    const table = this.windows.at(this.clock.processingStart(this.wall.now()));
    const text = buf.toString('utf8', start, end);
    const tally = this.tally;
    tally.words = 0;
    tally.lines = 0;
    // Only words remain of the text, so folding all of it folds exactly the keys.
    countWords(this.ignoreCase ? text.toLowerCase() : text, table, tally);
    this.counters.records += tally.words;
    cursor.records += tally.words;
    cursor.lines += tally.lines;
  }
}

export interface TextRecordsOptions<T> {
  readonly reader: RecordReader;
  readonly ignoreCase: boolean;
  readonly add: AddRecord<T>;
  /** Receives the original line of each late record (--late-output). */
  readonly late?: ((line: string) => void) | undefined;
  readonly reject?: RejectOutput | undefined;
}

/**
 * One record per line (--key line, field, json, regex): each non-blank line
 * is read by the record reader, placed in its window by the clock (in event
 * time, by its own time; late records go to `late`), and added to the
 * window's table, or held for --dedupe.
 */
export class TextRecords<T extends WindowTable> implements LineSink {
  private readonly record: ParsedRecord = { key: '', value: 0, text: '', time: NaN, id: '' };
  /** Processing time: the window of the chunk being read. */
  private chunkStart = NaN;

  constructor(
    private readonly options: TextRecordsOptions<T>,
    private readonly windows: OpenWindows<T>,
    private readonly clock: WindowClock,
    private readonly wall: Clock,
    private readonly counters: RunCounters,
    private readonly dedupe: DedupeBuffer | null,
  ) {}

  lines(cursor: SourceCursor, buf: Buffer, start: number, end: number, offset: number): void {
    if (!this.clock.eventTime) this.chunkStart = this.clock.processingStart(this.wall.now());
    const { reader, reject } = this.options;
    const text = buf.toString('utf8', start, end);
    const n = text.length;
    let lineStart = 0;
    // --reject-output: how far into the text (in characters, and in bytes) the last rejected line was.
    let rejectChars = 0;
    let rejectBytes = 0;
    // The source's records are added once per run of lines, not once per record.
    const recordsBefore = this.counters.records;
    while (lineStart < n) {
      let lineEnd = text.indexOf('\n', lineStart);
      const next = lineEnd < 0 ? n : lineEnd + 1;
      if (lineEnd < 0) lineEnd = n;
      cursor.lines++;
      if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
      if (lineEnd > lineStart && !isBlank(text, lineStart, lineEnd)) {
        const line = text.slice(lineStart, lineEnd);
        const problem = reader(line, this.record);
        if (problem === null) {
          this.onRecord(line, cursor);
        } else {
          this.counters.reject(problem);
          if (reject !== undefined) {
            rejectBytes += Buffer.byteLength(text.slice(rejectChars, lineStart));
            rejectChars = lineStart;
            reject(problem, cursor.label, offset + rejectBytes, line);
          }
        }
      }
      lineStart = next;
    }
    cursor.records += this.counters.records - recordsBefore;
  }

  private onRecord(line: string, cursor: SourceCursor): void {
    const record = this.record;
    // Fold the key only: JSON paths, regexes and delimiters still see the line as written.
    if (this.options.ignoreCase) record.key = record.key.toLowerCase();
    if (!this.clock.eventTime) {
      this.add(this.chunkStart);
      return;
    }
    const time = record.time;
    const start = this.clock.eventStart(time, this.wall.now());
    if (Number.isNaN(start)) {
      this.counters.late++;
      this.options.late?.(line);
    } else {
      this.add(start);
    }
    if (cursor.maxEventTime === null || time > cursor.maxEventTime) cursor.maxEventTime = time;
  }

  private add(start: number): void {
    const record = this.record;
    // Made even for --dedupe: an open window is due to fire at its end.
    const table = this.windows.at(start);
    this.counters.records++;
    if (this.dedupe !== null) this.dedupe.hold(record.id, start, record.key, record.value);
    else this.options.add(table, record);
  }
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}
