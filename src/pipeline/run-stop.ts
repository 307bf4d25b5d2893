/**
 * Why a run stops before its inputs end: a signal, a reader of stdout that
 * went away, an input that fails part way (what came before it is committed),
 * or a failure (the run throws it).
 */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'EPIPE' | 'bad input' | 'failure';

/**
 * The one way a run stops: an AbortSignal whose reason is the first
 * StopReason asked for. Readers stop through it; a failure is kept to be
 * thrown once the run has wound down, even when it comes after a stop.
 */
export class RunStop {
  private readonly controller = new AbortController();
  private why: StopReason | null = null;
  private failure: { readonly error: unknown } | null = null;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  /** The first reason given, or null while running. */
  get reason(): StopReason | null {
    return this.why;
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  stop(reason: StopReason): void {
    if (this.why !== null) return;
    this.why = reason;
    this.controller.abort(reason);
  }

  /** Stops the run because of `error` (the first one is kept). */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.stop('failure');
  }

  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure.error;
  }

  /** Calls `action` once the run stops (at once if it has); returns what removes it. */
  onStop(action: () => void): () => void {
    if (this.stopped) {
      action();
      return () => undefined;
    }
    const signal = this.controller.signal;
    signal.addEventListener('abort', action, { once: true });
    return () => signal.removeEventListener('abort', action);
  }

  /** Resolves once the run stops. */
  whenStopped(): Promise<void> {
    return new Promise((resolve) => this.onStop(resolve));
  }
}
