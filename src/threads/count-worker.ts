/**
 * A counting thread (`--threads N`): counts the chunks of whole lines the
 * reading thread sends into tables of its own, one per window, with the same
 * line sinks a single-threaded run uses (records.ts), and hands over what it
 * counted when asked. Bundled on its own and started from its source text
 * (threads/pool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RunCounters } from '../pipeline/counters.js';
import { recordsOf } from '../pipeline/records.js';
import { detachedCursor } from '../pipeline/source-cursors.js';
import { WindowClock } from '../pipeline/window-clock.js';
import type { DeltaColumns } from '../model.js';
import { reducerFor } from '../reducers/reducers.js';
import { WordCountTable } from '../reducers/word-count-table.js';
import type { CountWorkerData, EncodedDelta, EncodedWindow, FromCountWorker, ToCountWorker } from './protocol.js';

const { config, progress } = workerData as CountWorkerData;
const bytesCounted = new Int32Array(progress);
const port = parentPort!;
/** The window of the chunk being counted: the reading thread decided it, so the sink's clock reads it. */
let chunkStart = 0;
const counters = new RunCounters();
const clock = new WindowClock(
  { windowMs: config.windowMs, eventTime: false, latenessMs: 0, idleTimeoutMs: null, retryMs: 1000 },
  0,
);
const { sink, windows } = recordsOf(config, reducerFor(config.reduction, config.quantiles), {
  clock,
  wall: { now: () => chunkStart },
  counters,
  dedupe: null,
});
// The sinks count lines into a source's cursor; the reading thread adds them to the real one.
const cursor = detachedCursor('chunk', 'chunk');

port.on('message', (message: ToCountWorker) => {
  if (message.kind === 'chunk') {
    chunkStart = message.start;
    const keysBefore = windows.at(chunkStart).size;
    sink.lines(cursor, Buffer.from(message.bytes, 0, message.length), 0, message.length, 0);
    Atomics.add(bytesCounted, 0, message.length);
    const answer: FromCountWorker = {
      kind: 'counted',
      bytes: message.bytes,
      records: counters.records,
      lines: cursor.lines,
      inserted: windows.at(chunkStart).size - keysBefore,
      rejected: [...counters.rejectedBy],
    };
    counters.records = 0;
    counters.rejected = 0;
    counters.rejectedBy.clear();
    cursor.lines = 0;
    port.postMessage(answer, [message.bytes]);
    return;
  }
  const handed: EncodedWindow[] = [];
  // Moved, not copied: a window of a million keys is megabytes.
  const moved: ArrayBuffer[] = [];
  for (const [start, table] of windows.entries()) {
    if (table instanceof WordCountTable) {
      if (table.isSettled()) continue;
      const records = table.unsettledRecords();
      handed.push({ start, records });
      moved.push(records);
    } else {
      const delta = table.unsettled();
      if (delta.size === 0) continue;
      const w = encode(start, delta);
      handed.push(w);
      for (const column of [w.counts, w.sums, w.sumLows, w.mins, w.maxs]) if (column !== null) moved.push(column.buffer as ArrayBuffer);
    }
  }
  windows.committed([], new Map(), false);
  // Only the window of the latest chunk can receive more: drop the others' tables.
  windows.dropEndingBy(chunkStart);
  const answer: FromCountWorker = { kind: 'tables', windows: handed };
  port.postMessage(answer, moved);
});

function encode(start: number, d: DeltaColumns): EncodedDelta {
  const n = d.size;
  const column = (c: Float64Array | null) => (c === null ? null : c.slice(0, n));
  const counts = d.counts.slice(0, n);
  return {
    start,
    size: n,
    keys: d.keys.slice(0, n),
    counts,
    sums: column(d.sums),
    sumLows: column(d.sumLows),
    mins: column(d.mins),
    maxs: column(d.maxs),
  };
}
