import { UsageError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/**
 * Parses durations such as `250ms`, `5s`, `1m`, `1h30m`, `1d` into whole
 * milliseconds. Units must be given; zero, negative and fractional-millisecond
 * results are refused because a window or interval of that size is meaningless.
 */
export function parseDuration(text: string, optionName: string, allowZero = false): number {
  const trimmed = text.trim();
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < trimmed.length) {
    const start = PART.lastIndex;
    const m = PART.exec(trimmed);
    if (m === null || m.index !== start) {
      throw badDuration(text, optionName);
    }
    total += Number(m[1]) * (UNIT_MS[m[2]!] as number);
    matched++;
  }
  if (matched === 0) throw badDuration(text, optionName);
  if (allowZero && total === 0) return 0;
  if (!Number.isFinite(total) || total <= 0) {
    throw new UsageError(`${optionName} must be longer than zero, got '${text}'`);
  }
  if (!Number.isInteger(total)) {
    throw new UsageError(`${optionName} must be a whole number of milliseconds, got '${text}'`);
  }
  return total;
}

function badDuration(text: string, optionName: string): UsageError {
  return new UsageError(
    `${optionName} expects a duration like 250ms, 5s, 1m, 1h30m or 1d, got '${text}'`,
  );
}

/** Renders milliseconds back in the same grammar, largest units first (for messages and job definitions). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
