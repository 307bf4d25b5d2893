/**
 * The rule that at most one store operation (commit, finalization,
 * compaction, a rotation's commit) is in flight. While one runs nothing
 * reads input: readers wait for it before handling their next chunk, and the
 * timer skips its tick. Operations never reject: a failure goes to
 * `onFailure` (which stops the run).
 *
 * One exception, for counting threads: an operation started with
 * `readersMayEnter` may let readers in while it waits for the threads'
 * tables (`letReadersIn`), until it closes the door again, or until another
 * operation queues behind it: that one (a rotation's commit) may change what
 * the next chunk is read into, so readers wait for it.
 */
export class OneInFlight {
  private current: Promise<void> | null = null;
  private mayEnter = false;
  private open = false;
  /** Operations waiting for the one in flight. */
  private queued = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly onFailure: (error: unknown) => void) {}

  get busy(): boolean {
    return this.current !== null;
  }

  /** Whether a reader must wait before handling input: an operation is in flight and has not let readers in. */
  get holdsReaders(): boolean {
    return this.current !== null && (!this.open || this.queued > 0);
  }

  /** Runs `op` after the operation in flight, if any, as the one in flight; `readersMayEnter`: it may let readers in. */
  run(op: () => Promise<void>, readersMayEnter = false): Promise<void> {
    const start = () => {
      this.mayEnter = readersMayEnter;
      return op();
    };
    let started: Promise<void>;
    if (this.current === null) {
      started = start();
    } else {
      this.queued++;
      started = this.current.then(() => {
        this.queued--;
        return start();
      });
    }
    const running: Promise<void> = started
      .catch((err: unknown) => this.onFailure(err))
      .finally(() => {
        this.mayEnter = false;
        this.open = false;
        if (this.current === running) this.current = null;
        this.wakeReaders();
      });
    this.current = running;
    return running;
  }

  /**
   * Lets readers in until `close()` is called, if the operation in flight
   * allows it (else nothing happens): what they read then must not be
   * counted in the batch being committed (ThreadedSink sees to that).
   */
  letReadersIn(): { close(): void } {
    if (!this.mayEnter || this.queued > 0) return { close: () => undefined };
    this.open = true;
    this.wakeReaders();
    return {
      close: () => {
        this.open = false;
      },
    };
  }

  /**
   * Runs `action` (synchronous) once no operation is in flight, in the same
   * turn as that check, so no operation starts in between: what it changes
   * (tables, counters) no batch in flight sees half-done. Resolves after it.
   */
  async whenIdle(action?: () => void): Promise<void> {
    while (this.current !== null) await this.current;
    action?.();
  }

  /** Runs `action` (synchronous) once readers may go on: no operation in flight, or one that let them in. */
  async whenReadable(action: () => void): Promise<void> {
    while (this.holdsReaders) await new Promise<void>((resolve) => this.waiting.push(resolve));
    action();
  }

  private wakeReaders(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}
