/**
 * The rule that at most one store operation (commit, finalization,
 * compaction, a rotation's commit) is in flight. While one runs nothing
 * reads input: readers wait for it before handling their next chunk, and the
 * timer skips its tick. Operations never reject: a failure goes to
 * `onFailure` (which stops the run).
 */
export class OneInFlight {
  private current: Promise<void> | null = null;

  constructor(private readonly onFailure: (error: unknown) => void) {}

  get busy(): boolean {
    return this.current !== null;
  }

  /** Runs `op` after the operation in flight, if any, as the one in flight. */
  run(op: () => Promise<void>): Promise<void> {
    const started = this.current === null ? op() : this.current.then(op);
    const running: Promise<void> = started
      .catch((err: unknown) => this.onFailure(err))
      .finally(() => {
        if (this.current === running) this.current = null;
      });
    this.current = running;
    return running;
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
}
