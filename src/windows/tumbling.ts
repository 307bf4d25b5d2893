/** Epoch-aligned, half-open tumbling windows: t belongs to [t - t mod size, t - t mod size + size). */
export function windowStartOf(timeMs: number, sizeMs: number): number {
  const offset = timeMs % sizeMs;
  // JavaScript's % keeps the sign of the dividend; times before 1970 still align downwards.
  return timeMs - (offset < 0 ? offset + sizeMs : offset);
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that reads `startMs` now and advances in real time from there (tests and replays pin windows with it). */
export function clockStartingAt(startMs: number): Clock {
  const offset = startMs - Date.now();
  return { now: () => Date.now() + offset };
}
