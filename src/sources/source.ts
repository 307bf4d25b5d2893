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
  /** Chunks from `offset` on; ends at end of input or after `stop()`. */
  read(offset: number): AsyncIterable<Buffer>;
  /** Ends reading promptly, even while waiting for input. */
  stop(): void;
}
