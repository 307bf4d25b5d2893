/** How much one read of a file or stdin takes at most: a chunk handed to the framer. */
export const READ_CHUNK_BYTES = 1 << 20;

/** A byte stream with a stable identity, readable from a given byte offset. */
export interface Source {
  /** Stable id under which offsets are committed. */
  readonly id: string;
  /** What to call it in messages. */
  readonly label: string;
  readonly kind: 'file' | 'stdin';
  /** Whether committed offsets may be skipped on a rerun (a replay of the same bytes). */
  readonly resumable: boolean;
  /** Total bytes when known up front (regular files). */
  readonly size: number | null;
  /** A gzip file read as its text (known when it is opened); offsets count bytes of text. */
  readonly compressed: boolean;
  /** What the bytes belong to (a file's device:inode); a different one means a different stream. */
  readonly identity: string | null;
  /**
   * Chunks from `offset` on; ends at end of input or after `stop()`. A
   * followed file that is rotated or truncated calls `onRestart` with the new
   * identity before yielding the new file's bytes from offset 0; so does a
   * compressed file whose text turns out shorter than `offset`. Data that
   * cannot be read as text (corrupt gzip) throws a UsageError after the
   * chunks before it.
   */
  read(offset: number, onRestart?: (identity: string) => void): AsyncIterable<Buffer>;
  /** Ends reading promptly, even while waiting for input. */
  stop(): void;
}

/** One connection of a network source: its bytes, and whether it ended cleanly or was reset. */
export interface Connection {
  readonly chunks: AsyncIterable<Buffer>;
  /** Set once `chunks` is done: true for a clean close (a final unterminated line counts). */
  readonly closedCleanly: () => boolean;
}

/** Live counters of a network source, for status. */
export interface NetworkStats {
  clients: number;
  refused: number;
}

/** A network input: any number of connections over time, each framed on its own. Never replayable. */
export interface NetworkSource {
  readonly id: string;
  readonly label: string;
  readonly kind: 'tcp-listen' | 'tcp-connect';
  /** HOST:PORT (IPv6 in brackets); once a listener is bound, the port it got. */
  readonly address: string;
  readonly stats: NetworkStats;
  /** Binds or starts connecting; fails (UsageError) when the address cannot be used. */
  start(): Promise<void>;
  /** Connections as they arrive; ends after `stop()`. */
  connections(): AsyncIterable<Connection>;
  stop(): void;
}
