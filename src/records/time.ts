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
      ms = EPOCH_NUMBER.test(t) ? secondsToMs(t) : null;
      break;
    case 'epoch-ms':
      ms = EPOCH_NUMBER.test(t) ? Number(t) : null;
      break;
    case 'iso8601':
      ms = parseIso(t);
      break;
    case 'auto':
      if (EPOCH_NUMBER.test(t)) {
        ms = Number(t) < SECONDS_BELOW ? secondsToMs(t) : Number(t);
      } else {
        ms = parseIso(t);
      }
      break;
  }
  if (ms === null || !Number.isFinite(ms) || ms < 0 || ms >= MAX_TIME_MS) return null;
  return Math.floor(ms);
}

/** Decimal epoch seconds to whole milliseconds by digits, not by float multiplication (1.001 s is 1001 ms). */
function secondsToMs(t: string): number {
  const dot = t.indexOf('.');
  if (dot < 0) return Number(t) * 1000;
  const millis = (t.slice(dot + 1) + '000').slice(0, 3);
  return Number(t.slice(0, dot)) * 1000 + Number(millis);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function parseIso(t: string): number | null {
  const m = ISO_8601.exec(t);
  if (m === null) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  // Second 60 is a leap second: it is taken as the next second, as POSIX time does.
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null;
  // Date.UTC would read years 0-99 as 1900-1999; set the full year explicitly.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const base = date.getTime();
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
