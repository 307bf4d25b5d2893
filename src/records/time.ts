export type TimeFormat = 'auto' | 'epoch-s' | 'epoch-ms' | 'iso8601';
export const TIME_FORMATS: readonly TimeFormat[] = ['auto', 'epoch-s', 'epoch-ms', 'iso8601'];

/** Below this an auto-detected epoch number is seconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const SECONDS_BELOW = 1e11;
/** Accepted event times: from 1970 up to (not including) the year 10000. */
const MAX_TIME_MS = Date.UTC(10000, 0, 1);

const EPOCH_NUMBER = /^\d+(\.\d+)?$/;
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Parses an event time into epoch milliseconds, or null when it is not a
 * time in the chosen format or lies outside 1970..9999. ISO-8601 without an
 * offset is taken as UTC, never as the machine's local time.
 */
export function parseEventTime(text: string, format: TimeFormat): number | null {
  const t = text.trim();
  let ms: number | null;
  switch (format) {
    case 'epoch-s':
      ms = EPOCH_NUMBER.test(t) ? Number(t) * 1000 : null;
      break;
    case 'epoch-ms':
      ms = EPOCH_NUMBER.test(t) ? Number(t) : null;
      break;
    case 'iso8601':
      ms = parseIso(t);
      break;
    case 'auto':
      if (EPOCH_NUMBER.test(t)) {
        const n = Number(t);
        ms = n < SECONDS_BELOW ? n * 1000 : n;
      } else {
        ms = parseIso(t);
      }
      break;
  }
  if (ms === null || !Number.isFinite(ms) || ms < 0 || ms >= MAX_TIME_MS) return null;
  return Math.floor(ms);
}

function parseIso(t: string): number | null {
  const m = ISO_8601.exec(t);
  if (m === null) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return null;
  }
  const base = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  // Date.UTC rolls 31 February over into March; refuse dates that do not exist.
  if (new Date(base).getUTCDate() !== day && Number(s) < 60) return null;
  const millis = frac === '' ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  let offsetMs = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const hours = Number(digits.slice(0, 2));
    const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (hours > 23 || minutes > 59) return null;
    offsetMs = sign * (hours * 60 + minutes) * 60_000;
  }
  return base + millis - offsetMs;
}
