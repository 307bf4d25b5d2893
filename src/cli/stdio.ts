import { closeSync, writeSync } from 'node:fs';

/**
 * A file descriptor written with write(2), synchronously, as Node's own stdout
 * is for files and pipes on Linux, but without node:stream and node:net behind
 * it (~4 ms of a short run's start). Someone may have left a shared
 * descriptor non-blocking (EAGAIN): from then on, this write's rest and every
 * later write go to `slow` (process.stdout or process.stderr, which wait for
 * it), in order. Any other failure (EPIPE from a closed `| head`, ENOSPC) is
 * kept, told once to each listener after the current call, and later writes
 * are dropped.
 */
export class FdWriter {
  failure: NodeJS.ErrnoException | null = null;
  private slowStream: NodeJS.WriteStream | null = null;
  private readonly listeners: Array<(err: NodeJS.ErrnoException) => void> = [];

  constructor(
    private readonly fd: number,
    private readonly slow: (() => NodeJS.WriteStream) | null = null,
  ) {}

  write(chunk: string | Uint8Array): void {
    if (this.failure !== null) return;
    if (this.slowStream !== null) {
      this.slowStream.write(chunk);
      return;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let at = 0; at < bytes.length; ) {
      try {
        at += writeSync(this.fd, bytes, at, bytes.length - at);
      } catch (err) {
        const failure = err as NodeJS.ErrnoException;
        if (failure.code === 'EAGAIN' && this.slow !== null) {
          this.asStream().write(bytes.subarray(at));
        } else {
          this.fail(failure);
        }
        return;
      }
    }
  }

  /**
   * The descriptor as a Node stream, for what needs one (a terminal screen, a
   * snapshot written with backpressure); every write goes through it from now
   * on, in order, and its failure counts as this writer's.
   */
  asStream(): NodeJS.WriteStream {
    if (this.slowStream === null) {
      if (this.slow === null) throw new Error(`fd ${this.fd} has no stream`);
      this.slowStream = this.slow();
      this.slowStream.on('error', (err: NodeJS.ErrnoException) => this.fail(err));
    }
    return this.slowStream;
  }

  /** `listener` hears of the first failure (at most once). */
  onFailure(listener: (err: NodeJS.ErrnoException) => void): void {
    this.listeners.push(listener);
  }

  /** Resolves once everything written has been taken (only a slow stream can hold any back). */
  flush(): Promise<void> {
    const stream = this.slowStream;
    if (stream === null || this.failure !== null) return Promise.resolve();
    return new Promise((done) => stream.write('', () => done()));
  }

  /** For a file this writer owns: closes it; returns the first failure, of a write or of the close, or null. */
  close(): NodeJS.ErrnoException | null {
    try {
      closeSync(this.fd);
    } catch (err) {
      this.failure ??= err as NodeJS.ErrnoException;
    }
    return this.failure;
  }

  private fail(err: NodeJS.ErrnoException): void {
    if (this.failure !== null) return;
    this.failure = err;
    // As a stream's 'error' event would: not inside the write that failed.
    process.nextTick(() => {
      for (const listener of this.listeners) listener(err);
    });
  }
}

/** This process's stdout and stderr; only the CLI layer writes to them. */
export const stdout = new FdWriter(1, () => process.stdout);
export const stderr = new FdWriter(2, () => process.stderr);
