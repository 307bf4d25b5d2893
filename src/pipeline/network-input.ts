import type { Connection, NetworkSource } from '../sources/source.js';
import type { StateStore } from '../state/port.js';
import { pumpLane, type LaneHost } from './lanes.js';
import type { SourceCursor, SourceCursors } from './source-cursors.js';

/** What reading a network input needs from the run, besides a lane's needs. */
export interface NetworkHost extends LaneHost {
  readonly job: string;
  readonly store: StateStore;
  readonly cursors: SourceCursors;
}

/**
 * Reads every connection of a network input as a lane of its own (a line
 * never mixes two clients' bytes), concurrently, until the input is stopped.
 * Not replayable: the source's offset only counts bytes received, across runs.
 */
export async function readNetworkSource(source: NetworkSource, host: NetworkHost): Promise<void> {
  const committed = await host.store.sourceOffset(host.job, source.id);
  const cursor = host.cursors.add(source.id, {
    kind: source.kind,
    label: source.label,
    identity: null,
    network: source.stats,
    fromOffset: committed?.offset ?? 0,
    toOffset: committed?.offset ?? 0,
    lines: 0,
    maxEventTime: committed?.maxEventTime ?? null,
  });
  const open: Promise<void>[] = [];
  for await (const connection of source.connections()) open.push(readConnection(connection, cursor, host));
  await Promise.all(open);
}

async function readConnection(connection: Connection, cursor: SourceCursor, host: NetworkHost): Promise<void> {
  const framer = host.framer(cursor, 0);
  const take = (chunk: Buffer) => {
    framer.push(chunk);
    cursor.toOffset += chunk.length;
    cursor.bytes += chunk.length;
  };
  if (!(await pumpLane(connection.chunks, take, host, (err) => host.stop.fail(err)))) return;
  // A clean close ends the last line even without a newline; a reset drops it.
  await host.ops.whenIdle(() => {
    if (connection.closedCleanly()) framer.end();
  });
}
