import { afterEach, describe, expect, it } from 'vitest';
import { TIME_FORMATS, parseEventTime, type TimeFormat } from '../../src/records/time.js';
import { intBelow, seededRandom } from '../support/prng.js';

const auto = (text: string): number | null => parseEventTime(text, 'auto');
const iso = (text: string): number | null => parseEventTime(text, 'iso8601');

const T = Date.UTC(2026, 2, 1, 10, 0, 0); // 2026-03-01T10:00:00Z
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** 10000-01-01T00:00:00Z: the first instant that is no longer accepted. */
const YEAR_10000 = Date.UTC(10000, 0, 1);

describe('parseEventTime: the formats', () => {
  it('knows exactly auto, epoch-s, epoch-ms and iso8601', () => {
    expect([...TIME_FORMATS]).toEqual(['auto', 'epoch-s', 'epoch-ms', 'iso8601']);
  });
});

describe('parseEventTime auto: epoch numbers, seconds or milliseconds by magnitude', () => {
  it.each([
    ['1700000000', 1_700_000_000_000],
    ['0', 0],
    ['1', 1_000],
    ['86400', 86_400_000],
    ['99999999999', 99_999_999_999_000], // the largest number still read as seconds (year 5138)
    ['100000000000', 100_000_000_000], // from 1e11 on it is milliseconds (1973)
    ['1700000000123', 1_700_000_000_123],
    ['253402300799999', YEAR_10000 - 1],
  ])('%s is %d ms', (text, ms) => {
    expect(auto(text)).toBe(ms);
  });

  it.each([
    ['1700000000.5', 1_700_000_000_500],
    ['1700000000.123', 1_700_000_000_123],
    ['1700000000.1239', 1_700_000_000_123],
    ['1700000000.000', 1_700_000_000_000],
    ['1700000000123.9', 1_700_000_000_123], // milliseconds with a fraction: floored
    ['0.5', 500],
  ])('decimal %s is %d ms (fractions of a millisecond dropped)', (text, ms) => {
    expect(auto(text)).toBe(ms);
  });

  it('always returns whole milliseconds', () => {
    for (const text of ['1700000000.0001', '1.7', '1700000000123.4567', '2026-03-01T10:00:00.123456Z']) {
      expect(Number.isInteger(auto(text)), text).toBe(true);
    }
  });

  it('ignores surrounding whitespace', () => {
    expect(auto(' 1700000000 ')).toBe(1_700_000_000_000);
    expect(auto('\t2026-03-01T10:00:00Z\r')).toBe(T);
  });

  it('keeps every millisecond of epoch seconds written with a millisecond fraction', () => {
    // Number("1087470740.011") * 1000 is 1087470740010.9999: flooring that loses a millisecond.
    expect(auto('1087470740.011')).toBe(1_087_470_740_011);
    expect(parseEventTime('1087470740.011', 'epoch-s')).toBe(1_087_470_740_011);
    expect(auto('1.001')).toBe(1_001);
    expect(auto('8.123')).toBe(8_123);
    const random = seededRandom(5);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const seconds = 1_000_000_000 + intBelow(random, 1_000_000_000);
      const millis = intBelow(random, 1_000);
      const text = `${seconds}.${String(millis).padStart(3, '0')}`;
      const got = auto(text);
      if (got !== seconds * 1000 + millis) wrong.push(`${text} -> ${got}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});

describe('parseEventTime auto: ISO-8601', () => {
  it.each([
    ['2026-03-01T10:00:00Z', T],
    ['2026-03-01T10:00:00z', T],
    ['2026-03-01 10:00:00Z', T],
    ['2026-03-01T10:00Z', T],
    ['2026-03-01T10:00:07Z', T + 7_000],
    ['1970-01-01T00:00:00Z', 0],
    ['2024-02-29T12:00:00Z', Date.UTC(2024, 1, 29, 12)],
    ['2000-02-29', Date.UTC(2000, 1, 29)],
    ['9999-12-31T23:59:59.999Z', YEAR_10000 - 1],
  ])('%s', (text, ms) => {
    expect(auto(text)).toBe(ms);
    expect(iso(text)).toBe(ms);
  });

  it.each([
    ['2026-03-01T10:00:00+05:30', T - 5.5 * HOUR],
    ['2026-03-01T10:00:00-05:30', T + 5.5 * HOUR],
    ['2026-03-01T10:00:00+0530', T - 5.5 * HOUR],
    ['2026-03-01T10:00:00-0530', T + 5.5 * HOUR],
    ['2026-03-01T10:00:00+05', T - 5 * HOUR],
    ['2026-03-01T10:00:00-08', T + 8 * HOUR],
    ['2026-03-01T10:00:00+00:00', T],
    ['2026-03-01T10:00:00-00:00', T],
    ['2026-03-01T10:00:00+14:00', T - 14 * HOUR],
    ['2026-03-01T10:00:00-12:45', T + 12 * HOUR + 45 * MINUTE],
    ['2026-03-01T10:00+01:00', T - HOUR],
    ['2026-03-01T00:30:00+01:00', Date.UTC(2026, 1, 28, 23, 30)], // the offset moves it to the day before
  ])('with an offset: %s', (text, ms) => {
    expect(auto(text)).toBe(ms);
  });

  it.each([
    ['2026-03-01T10:00:00.5Z', T + 500],
    ['2026-03-01T10:00:00.05Z', T + 50],
    ['2026-03-01T10:00:00.123Z', T + 123],
    ['2026-03-01T10:00:00.1239Z', T + 123],
    ['2026-03-01T10:00:00.999999999Z', T + 999], // never rounded up into the next second
    ['2026-03-01T10:00:00.123456789+02:00', T - 2 * HOUR + 123],
    ['2026-03-01T10:00:00.001', T + 1],
  ])('with a fraction: %s', (text, ms) => {
    expect(auto(text)).toBe(ms);
  });

  it('keeps every millisecond of a three-digit fraction', () => {
    const wrong: string[] = [];
    for (let ms = 0; ms < 1000; ms++) {
      const text = `2026-03-01T10:00:00.${String(ms).padStart(3, '0')}Z`;
      if (auto(text) !== T + ms) wrong.push(text);
    }
    expect(wrong).toEqual([]);
  });

  describe('without an offset', () => {
    const savedTz = process.env.TZ;
    afterEach(() => {
      if (savedTz === undefined) delete process.env.TZ;
      else process.env.TZ = savedTz;
    });

    it('is UTC, never the local time of the machine', () => {
      process.env.TZ = 'Asia/Kolkata';
      expect(new Date('2026-03-01T10:00:00').getTime()).not.toBe(T); // what a local-time parse would give
      expect(auto('2026-03-01T10:00:00')).toBe(T);
      expect(auto('2026-03-01T10:00')).toBe(T);
      expect(auto('2026-03-01 10:00:00.250')).toBe(T + 250);
      process.env.TZ = 'America/Los_Angeles';
      expect(auto('2026-03-01T10:00:00')).toBe(T);
    });

    it('a date alone is its midnight UTC', () => {
      process.env.TZ = 'Pacific/Auckland';
      expect(auto('2026-03-01')).toBe(Date.UTC(2026, 2, 1));
      expect(iso('1970-01-01')).toBe(0);
      expect(auto('2026-12-31')).toBe(Date.UTC(2026, 11, 31));
    });
  });
});

describe('parseEventTime: refusals', () => {
  it.each([
    '',
    '   ',
    'yesterday',
    'now',
    'null',
    'true',
    '2026/03/01',
    '01/03/2026',
    '2026-3-1',
    '2026-03-1',
    '20260301T100000Z',
    '2026-03-01T',
    '2026-03-01T10',
    '2026-03-01T10Z',
    '2026-03-01T10:00:00ZZ',
    '2026-03-01T10:00:00 Z',
    '2026-03-01T10:00:00+5',
    '2026-03-01T10:00:00+05:3',
    '2026-03-01T10:00:00UTC',
    '2026-03-01T10:00:00.Z',
    '2026-03-01T10:00:00.1234567890Z',
    '2026-03-01Tten:00:00Z',
    '1.2.3',
    '1700000000.',
    '.5',
    '-1700000000',
    '+1700000000',
    '1e9',
    '1.7e12',
    '0x10',
    '1_700_000_000',
    '1,700,000,000',
    '１７００００００００', // full-width digits
    '1700000000 1',
  ])('refuses %j', (text) => {
    expect(auto(text)).toBeNull();
  });

  it.each(['NaN', 'nan', 'Infinity', '-Infinity', '+Infinity', 'inf'])('refuses %j in every format', (text) => {
    for (const format of TIME_FORMATS) expect(parseEventTime(text, format), format).toBeNull();
  });

  it.each([
    '2026-02-30',
    '2026-02-29', // 2026 is no leap year
    '2100-02-29', // nor is 2100
    '2026-04-31',
    '2026-06-31T00:00:00Z',
    '2026-13-01',
    '2026-00-10',
    '2026-01-00',
    '2026-01-32',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T10:00:61Z',
    '2026-01-01T10:00:00+24:00',
    '2026-01-01T10:00:00+05:60',
  ])('refuses %j, which does not exist', (text) => {
    expect(auto(text)).toBeNull();
    expect(iso(text)).toBeNull();
  });

  it('refuses a non-existent date even with a leap second', () => {
    expect(auto('2026-02-30T23:59:60Z')).toBeNull();
    expect(auto('2026-04-31T23:59:60Z')).toBeNull();
  });

  it('refuses times before 1970', () => {
    expect(auto('1969-12-31T23:59:59Z')).toBeNull();
    expect(auto('1969-12-31T23:59:59.999Z')).toBeNull();
    expect(auto('1969-12-31')).toBeNull();
    expect(auto('1900-01-01')).toBeNull();
    expect(auto('1970-01-01T00:30:00+01:00')).toBeNull(); // 1969-12-31T23:30Z
    expect(auto('1970-01-01T00:00:00Z')).toBe(0);
    expect(auto('1969-12-31T19:00:00-05:00')).toBe(0);
  });

  it('refuses years 0000 to 0099 (not read as 1900 to 1999)', () => {
    expect(auto('0070-01-01')).toBeNull();
    expect(auto('0099-12-31T00:00:00Z')).toBeNull();
    expect(auto('0001-01-01T00:00:00Z')).toBeNull();
    expect(auto('0000-01-01')).toBeNull();
  });

  it('refuses the year 10000 and later', () => {
    expect(auto('10000-01-01')).toBeNull();
    expect(auto('10000-01-01T00:00:00Z')).toBeNull();
    expect(auto('12026-03-01T10:00:00Z')).toBeNull();
    expect(auto('9999-12-31T23:00:00-01:00')).toBeNull(); // 10000-01-01T00:00Z
    expect(auto('9999-12-31T23:59:59.999Z')).toBe(YEAR_10000 - 1);
    expect(auto(String(YEAR_10000))).toBeNull();
    expect(parseEventTime(String(YEAR_10000 / 1000), 'epoch-s')).toBeNull();
    expect(parseEventTime(String(YEAR_10000 / 1000 - 1), 'epoch-s')).toBe(YEAR_10000 - 1000);
    expect(parseEventTime(String(YEAR_10000), 'epoch-ms')).toBeNull();
    expect(parseEventTime('99999999999999999999999', 'auto')).toBeNull();
  });
});

describe('parseEventTime: forced formats', () => {
  it('epoch-s reads any number as seconds, whatever its magnitude', () => {
    expect(parseEventTime('1700000000', 'epoch-s')).toBe(1_700_000_000_000);
    expect(parseEventTime('1700000000.25', 'epoch-s')).toBe(1_700_000_000_250);
    expect(parseEventTime('100000000000', 'epoch-s')).toBe(100_000_000_000_000); // auto would take it as ms
    expect(parseEventTime('1700000000123', 'epoch-s')).toBeNull(); // seconds: year 55000
    expect(parseEventTime('0', 'epoch-s')).toBe(0);
  });

  it('epoch-ms reads any number as milliseconds, whatever its magnitude', () => {
    expect(parseEventTime('1700000000123', 'epoch-ms')).toBe(1_700_000_000_123);
    expect(parseEventTime('1700000000', 'epoch-ms')).toBe(1_700_000_000); // auto would take it as seconds
    expect(parseEventTime('1700000000123.75', 'epoch-ms')).toBe(1_700_000_000_123);
    expect(parseEventTime('5', 'epoch-ms')).toBe(5);
  });

  it('iso8601 refuses epoch numbers; the epoch formats refuse ISO-8601', () => {
    expect(iso('1700000000')).toBeNull();
    expect(iso('1700000000123')).toBeNull();
    expect(iso('20260301')).toBeNull();
    for (const format of ['epoch-s', 'epoch-ms'] as const) {
      expect(parseEventTime('2026-03-01T10:00:00Z', format)).toBeNull();
      expect(parseEventTime('2026-03-01', format)).toBeNull();
    }
  });

  it('every format refuses garbage, signs, exponents and hex', () => {
    for (const format of TIME_FORMATS as readonly TimeFormat[]) {
      for (const text of ['', 'abc', '-5', '+5', '1e3', '0x10', '2026-02-30']) {
        expect(parseEventTime(text, format), `${format} ${JSON.stringify(text)}`).toBeNull();
      }
    }
  });

  it('auto agrees with the forced format it picks', () => {
    for (const text of ['1700000000', '1700000000.5', '99999999999']) expect(auto(text)).toBe(parseEventTime(text, 'epoch-s'));
    for (const text of ['100000000000', '1700000000123']) expect(auto(text)).toBe(parseEventTime(text, 'epoch-ms'));
    for (const text of ['2026-03-01', '2026-03-01T10:00:00+05:30', '2026-03-01T10:00:00.5']) expect(auto(text)).toBe(iso(text));
  });
});
