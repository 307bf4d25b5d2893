/** The signals that stop a command cleanly, and its exit code after such a stop (128 + the signal number, as shells report it). */
export const EXIT_BY_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof EXIT_BY_SIGNAL;

/** The exit code after a command stopped for `reason`: 130/143 after SIGINT/SIGTERM, else 0 (end of input, EPIPE). */
export function exitCodeAfter(reason: string | null): number {
  return reason === 'SIGINT' || reason === 'SIGTERM' ? EXIT_BY_SIGNAL[reason] : 0;
}

/**
 * Until `release()`, SIGINT and SIGTERM ask the command to stop cleanly
 * (`stop` is told the signal) instead of killing the process; `received` is
 * the first one. With `forceExit`, the same signal again exits at once with
 * its code: the user insists, and committed state is always consistent.
 */
export function trapStopSignals(
  stop: (signal: StopSignal) => void,
  forceExit?: (code: number) => never,
): { readonly received: StopSignal | null; release(): void } {
  const seen = new Set<StopSignal>();
  let received: StopSignal | null = null;
  const on = (signal: StopSignal) => () => {
    if (seen.has(signal) && forceExit !== undefined) forceExit(EXIT_BY_SIGNAL[signal]);
    seen.add(signal);
    received ??= signal;
    stop(signal);
  };
  const onInt = on('SIGINT');
  const onTerm = on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    get received() {
      return received;
    },
    release() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
