import { randomId } from './random-id.js';
import type { StreamConfig } from '../config.js';
import { StatesyncError } from '../errors.js';
import type { LineFramer } from '../records/framer.js';
import { openFileSource } from '../sources/file.js';
import type { Source } from '../sources/source.js';
import { stdinSource } from '../sources/stdin.js';
import type { SourceOffset, StateStore } from '../state/port.js';
import { pumpLane, type LaneHost } from './lanes.js';
import type { SourceCursor, SourceCursors } from './source-cursors.js';

/** The run's files and stdin, in the order given, each with its source id. */
export async function openInputs(config: StreamConfig): Promise<Source[]> {
  const runId = randomId();
  const { inputs, source } = config;
  const sources: Source[] = [];
  for (const input of inputs) {
    const override =
      source === null ? null : inputs.length > 1 ? `${source}:${input.kind === 'file' ? input.path : '-'}` : source;
    sources.push(input.kind === 'file' ? await openFileSource(input.path, override, config.follow) : stdinSource(override, runId));
  }
  return sources;
}

/** What reading a file needs from the run, besides a lane's needs. */
export interface FileHost extends LaneHost {
  readonly job: string;
  /** State outlives the run (--db): a rerun can resume a replayable source. */
  readonly durable: boolean;
  readonly store: StateStore;
  readonly cursors: SourceCursors;
  note(line: string): void;
  /** Commits, inside the store operation in flight. */
  commit(): Promise<void>;
  /** Told how far a file of known size has been read. */
  progress?: ((label: string, bytesRead: number, totalBytes: number) => void) | undefined;
  /** Input that fails part way (corrupt gzip data): what came before it is committed, then the run fails with it. */
  badInput(error: StatesyncError): void;
}

/**
 * Where a rerun starts reading `source`, given what was committed for it, and
 * what it tells the user about that: resuming, already consumed (`readFrom`
 * null: nothing to read), truncated or replaced (read again from the start).
 */
export function resumePlan(
  source: Pick<Source, 'label' | 'kind' | 'resumable' | 'size' | 'compressed' | 'identity'>,
  committed: SourceOffset | undefined,
  job: string,
): { readonly readFrom: number | null; readonly notes: readonly string[] } {
  const notes: string[] = [];
  const dbOffset = committed?.offset ?? 0;
  let readFrom = source.resumable ? dbOffset : 0;
  if (source.resumable && committed !== undefined && source.size !== null) {
    if (source.size === dbOffset) return { readFrom: null, notes: [consumedNote(source, dbOffset, job)] };
    if (source.size < dbOffset) {
      notes.push(
        `${source.label} is shorter (${source.size} bytes) than the ${dbOffset} bytes already consumed; ` +
          `it was truncated or rewritten, counting it from the start`,
      );
      readFrom = 0;
    } else if (dbOffset > 0) {
      notes.push(`${source.label}: resuming after ${dbOffset} bytes already committed`);
    }
  }
  if (source.resumable && committed?.identity != null && source.identity !== null && committed.identity !== source.identity) {
    // A followed path whose file was replaced since the offset was committed.
    if (dbOffset > 0) notes.push(`${source.label} was replaced since the last run; reading the new file from its start`);
    readFrom = 0;
  } else if (source.resumable && dbOffset > 0 && source.size === null && source.kind === 'file' && !source.compressed) {
    notes.push(`${source.label}: resuming after ${dbOffset} bytes already committed`);
  }
  return { readFrom, notes };
}

function consumedNote(source: Pick<Source, 'label' | 'compressed'>, offset: number, job: string): string {
  return (
    `${source.label} was already consumed by job '${job}' (${offset} bytes${source.compressed ? ' of text' : ''}); ` +
    `nothing new to count (use another --source or --job to count it again)`
  );
}

/**
 * The unterminated-last-line rule: a final line without a newline is left to
 * the next run when that run can resume (durable state: the file may still
 * grow, and counting it now would split its last word) or when reading was
 * interrupted; otherwise nothing would ever count it, so it counts now.
 */
export function leavesLastLine(resumable: boolean, durable: boolean, stopped: boolean): boolean {
  return resumable && (durable || stopped);
}

/** Reads a file or stdin as one lane, from where its committed offset says, to its end or the run's stop. */
export async function readFileSource(source: Source, host: FileHost): Promise<void> {
  const committed = await host.store.sourceOffset(host.job, source.id);
  const { readFrom, notes } = resumePlan(source, committed, host.job);
  for (const line of notes) host.note(line);
  if (readFrom === null) return;
  const dbOffset = committed?.offset ?? 0;
  const cursor = host.cursors.add(source.id, {
    kind: source.kind,
    label: source.label,
    identity: source.identity,
    network: null,
    fromOffset: dbOffset,
    toOffset: readFrom,
    lines: 0,
    maxEventTime: committed?.maxEventTime ?? null,
  });
  let framer = host.framer(cursor, readFrom);
  let restarted = false;
  const onRestart = (identity: string) => {
    // Rotated or truncated (--follow), or a gzip file rewritten shorter: finish the old content,
    // commit it, start the new file at 0. A store operation of its own, so the new file's chunks wait for it.
    restarted = true;
    void host.ops.run(async () => {
      framer.end();
      cursor.toOffset = framer.offset;
      await host.commit();
      host.note(
        source.compressed
          ? `${source.label} holds less text than the ${dbOffset} bytes already consumed; it was rewritten, counting it from the start`
          : `${source.label} was rotated or truncated; reading it again from its start`,
      );
      cursor.identity = identity;
      cursor.toOffset = 0;
      framer = host.framer(cursor, 0);
    });
  };
  const release = host.stop.onStop(() => source.stop());
  try {
    const read = source.read(readFrom, onRestart);
    const chunks =
      source.compressed && readFrom > 0 ? noteResumeAfterSkip(source, readFrom, read, () => restarted, host) : read;
    let bytesRead = readFrom;
    const take = (chunk: Buffer) => {
      framer.push(chunk);
      cursor.toOffset = framer.offset;
      cursor.bytes += chunk.length;
      bytesRead += chunk.length;
      if (source.size !== null) host.progress?.(source.label, bytesRead, source.size);
    };
    const readFailed = (err: unknown) => {
      // Input that fails part way: what came before it is committed and published as at a
      // stop (a rerun resumes there), then the run fails with it; its partial line is dropped.
      if (err instanceof StatesyncError) host.badInput(err);
      else host.stop.fail(err);
    };
    if (!(await pumpLane(chunks, take, host, readFailed))) return;
    await host.ops.whenIdle(() => {
      if (!host.stop.failed) endOfInput(source, framer, cursor, host);
    });
  } finally {
    release();
    source.stop();
  }
}

/**
 * A gzip file's text has no length known up front: whether a rerun finds anything after the
 * committed text shows only once that is decompressed again and skipped.
 */
async function* noteResumeAfterSkip(
  source: Source,
  committed: number,
  chunks: AsyncIterable<Buffer>,
  restarted: () => boolean,
  host: FileHost,
): AsyncGenerator<Buffer> {
  let fresh = false;
  for await (const chunk of chunks) {
    if (!fresh && !restarted()) host.note(`${source.label}: resuming after ${committed} bytes of text already committed`);
    fresh = true;
    yield chunk;
  }
  if (!fresh && !restarted() && !host.stop.stopped) host.note(consumedNote(source, committed, host.job));
}

function endOfInput(source: Source, framer: LineFramer, cursor: SourceCursor, host: FileHost): void {
  const stopped = host.stop.stopped;
  if (leavesLastLine(source.resumable, host.durable, stopped)) {
    const waiting = framer.pendingBytes;
    if (!stopped && waiting > 0) {
      host.note(
        `${source.label}: ${waiting} byte${waiting === 1 ? '' : 's'} after the last newline ` +
          `${waiting === 1 ? 'is' : 'are'} left for the next run`,
      );
    }
    return;
  }
  framer.end();
  cursor.toOffset = framer.offset;
}
