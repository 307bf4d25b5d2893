import type { LineFramer } from '../records/framer.js';
import type { OneInFlight } from './one-in-flight.js';
import type { RunStop } from './run-stop.js';
import type { SourceCursor } from './source-cursors.js';

/** What reading a lane needs from the run. */
export interface LaneHost {
  readonly stop: RunStop;
  readonly ops: OneInFlight;
  /** Whether a commit or a finalization is due (checked after each chunk). */
  due(): boolean;
  /** Commits and finalizes what is due, as the store operation in flight (one that may let readers in). */
  catchUp(): Promise<void>;
  /** A framer whose lines go to the run's records, counted in `cursor`'s source, from `offset` on. */
  framer(cursor: SourceCursor, offset: number): LineFramer;
}

/**
 * Reads one lane, one framed byte stream: a file (or stdin), or one TCP
 * connection. Each chunk waits for the store operation in flight, is handed
 * to `take`, and may make a commit or a finalization due. Reading ends at the
 * lane's end or when the run stops. Returns false when the lane failed:
 * a chunk could not be read (`readFailed` was told) or handling one threw
 * (the run fails with it).
 */
export async function pumpLane(
  chunks: AsyncIterable<Buffer>,
  take: (chunk: Buffer) => void,
  host: LaneHost,
  readFailed: (error: unknown) => void,
): Promise<boolean> {
  const iterator = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await iterator.next();
      } catch (err) {
        readFailed(err);
        return false;
      }
      if (next.done === true) return true;
      const chunk = next.value;
      if (host.ops.holdsReaders) await host.ops.whenReadable(() => take(chunk));
      else take(chunk);
      if (host.stop.stopped) return true;
      // Not awaited: the lane reads its next chunk meanwhile, and handles it once the operation lets it.
      if (!host.ops.busy && host.due()) void host.catchUp();
    }
  } catch (err) {
    host.stop.fail(err);
    return false;
  } finally {
    await iterator.return?.();
  }
}
