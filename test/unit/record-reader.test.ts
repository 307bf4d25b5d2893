import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeRecordReader, type ParsedRecord, type RecordSpecs } from '../../src/records/record-reader.js';
import { parseFieldSpec, parseKeySpec } from '../../src/records/specs.js';
import type { TimeFormat } from '../../src/records/time.js';

const T = Date.UTC(2026, 2, 1, 10, 0, 0); // 2026-03-01T10:00:00Z

interface Options {
  key: string;
  value?: string;
  time?: string;
  delimiter?: string;
  timeFormat?: TimeFormat;
}

function specs({ key, value, time, delimiter, timeFormat = 'auto' }: Options): RecordSpecs {
  const keySpec = parseKeySpec(key);
  if (keySpec.kind === 'word') throw new Error('a record reader never sees --key word');
  return {
    key: keySpec,
    delimiter: delimiter ?? null,
    value: value === undefined ? null : parseFieldSpec(value, '--value'),
    time: time === undefined ? null : parseFieldSpec(time, '--time'),
    timeFormat,
    id: null,
  };
}

function fresh(): ParsedRecord {
  return { key: '', value: 0, text: '', time: 0, id: '' };
}

/** Reads one line; the record, or the reason it was rejected. */
function read(options: Options, line: string): Omit<ParsedRecord, 'id' | 'text'> | string {
  const out = fresh();
  const reason = makeRecordReader(specs(options))(line, out);
  if (reason !== null) return reason;
  // Without --dedupe the id stays empty, and the text value is distinct's; these tests are about key, value and time.
  const { id: _id, text: _text, ...rest } = out;
  return rest;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('makeRecordReader: key, value and time from fields', () => {
  it('takes the key, value and time from whitespace-separated fields', () => {
    expect(read({ key: 'field=2', value: 'field=3', time: 'field=1' }, '1772359200 alice 12.5')).toEqual({
      key: 'alice',
      value: 12.5,
      time: T,
    });
    expect(read({ key: 'field=1', value: 'field=2' }, '  bob \t -3e2  ')).toEqual({ key: 'bob', value: -300, time: NaN });
  });

  it('splits by the delimiter when one is given, keeping empty fields', () => {
    const options = { key: 'field=1', value: 'field=3', time: 'field=4', delimiter: ',' };
    expect(read(options, 'a b,,7,2026-03-01T10:00:00Z')).toEqual({ key: 'a b', value: 7, time: T });
    expect(read({ key: 'field=2', value: 'field=1', delimiter: '::' }, '4::x::y')).toEqual({ key: 'x', value: 4, time: NaN });
  });

  it('key line is the whole line', () => {
    expect(read({ key: 'line', value: 'regex=(\\d+)ms' }, 'GET /a took 15ms')).toEqual({ key: 'GET /a took 15ms', value: 15, time: NaN });
    expect(read({ key: 'line' }, '  spaced  ')).toMatchObject({ key: '  spaced  ' });
  });

  it('gives NaN as the time in processing time (no time spec)', () => {
    const out = fresh();
    out.time = 123;
    expect(makeRecordReader(specs({ key: 'field=1' }))('k', out)).toBeNull();
    expect(out.time).toBeNaN();
  });

  it('passes the time format on: a forced format changes how the same field is read', () => {
    expect(read({ key: 'field=1', time: 'field=2' }, 'k 1700000000')).toMatchObject({ time: 1_700_000_000_000 });
    expect(read({ key: 'field=1', time: 'field=2', timeFormat: 'epoch-ms' }, 'k 1700000000')).toMatchObject({ time: 1_700_000_000 });
    expect(read({ key: 'field=1', time: 'field=2', timeFormat: 'iso8601' }, 'k 1700000000')).toBe('bad time');
  });

  it('fills the same record object line after line, rejected lines in between', () => {
    const reader = makeRecordReader(specs({ key: 'field=1', value: 'field=2' }));
    const out = fresh();
    expect(reader('a 1', out)).toBeNull();
    expect(out).toMatchObject({ key: 'a', value: 1 });
    expect(reader('b nope', out)).toBe('bad value');
    expect(reader('c 3', out)).toBeNull();
    expect(out).toMatchObject({ key: 'c', value: 3 });
  });
});

describe('makeRecordReader: JSON', () => {
  const JSON_SPECS: Options = { key: 'json=user.id', value: 'json=price.amount', time: 'json=ts' };

  it('reads key, value and time at dotted paths', () => {
    const line = JSON.stringify({ user: { id: 'u1' }, price: { amount: 9.75 }, ts: '2026-03-01T10:00:00Z' });
    expect(read(JSON_SPECS, line)).toEqual({ key: 'u1', value: 9.75, time: T });
  });

  it('takes numbers, numeric strings and booleans as their text', () => {
    expect(read({ key: 'json=id', value: 'json=v', time: 'json=t' }, '{"id":7,"v":"2.5","t":1772359200}')).toEqual({
      key: '7',
      value: 2.5,
      time: T,
    });
    expect(read({ key: 'json=ok' }, '{"ok":true}')).toMatchObject({ key: 'true' });
  });

  it('parses the line once for all its JSON specs', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const reader = makeRecordReader(specs(JSON_SPECS));
    const out = fresh();
    const line = JSON.stringify({ user: { id: 'u1' }, price: { amount: 1 }, ts: 1772359200 });
    parse.mockClear();
    expect(reader(line, out)).toBeNull();
    expect(parse).toHaveBeenCalledTimes(1);
    expect(reader(line, out)).toBeNull();
    expect(parse).toHaveBeenCalledTimes(2);
  });

  it('parses once too when only some specs are JSON, and not at all when none is', () => {
    const parse = vi.spyOn(JSON, 'parse');
    const mixed = makeRecordReader(specs({ key: 'regex="k":"(\\w+)"', value: 'json=v', time: 'json=t' }));
    const out = fresh();
    parse.mockClear();
    expect(mixed('{"k":"abc","v":1,"t":1772359200}', out)).toBeNull();
    expect(out).toEqual({ key: 'abc', value: 1, text: '', time: T, id: '' });
    expect(parse).toHaveBeenCalledTimes(1);
    expect(mixed('"k":"abc" but not JSON', out)).toBe('invalid JSON');
    expect(parse).toHaveBeenCalledTimes(2);
    const keyOnly = makeRecordReader(specs({ key: 'line', value: 'json=v' }));
    parse.mockClear();
    expect(keyOnly('{"v":4}', out)).toBeNull();
    expect(out).toMatchObject({ key: '{"v":4}', value: 4 });
    expect(parse).toHaveBeenCalledTimes(1);
    const none = makeRecordReader(specs({ key: 'field=1', value: 'field=2', time: 'field=3' }));
    parse.mockClear();
    expect(none('a 1 1772359200', out)).toBeNull();
    expect(parse).not.toHaveBeenCalled();
  });

  it('readers do not see each other\'s lines when called in turn', () => {
    const a = makeRecordReader(specs({ key: 'json=a', value: 'json=n' }));
    const b = makeRecordReader(specs({ key: 'json=b', value: 'json=n' }));
    const outA = fresh();
    const outB = fresh();
    expect(a('{"a":"x","n":1}', outA)).toBeNull();
    expect(b('{"b":"y","n":2}', outB)).toBeNull();
    expect(a('{"a":"z","n":3}', outA)).toBeNull();
    expect(outA).toMatchObject({ key: 'z', value: 3 });
    expect(outB).toMatchObject({ key: 'y', value: 2 });
    expect(b('not json', outB)).toBe('invalid JSON');
    expect(a('{"a":"w","n":4}', outA)).toBeNull();
    expect(outA).toMatchObject({ key: 'w', value: 4 });
  });

  it.each([
    ['not json at all', 'invalid JSON'],
    ['{"user":{"id":"u1"}', 'invalid JSON'], // truncated
    ['{"user":{}}', 'missing field'],
    ['{"user":{"id":null}}', 'non-scalar value'],
    ['{"user":{"id":{"nested":1}}}', 'non-scalar value'],
    ['{"user":{"id":[1]}}', 'non-scalar value'],
    ['{"user":"u1"}', 'missing field'], // a path through a string
    ['[]', 'missing field'],
    ['{"user":{"id":"u1"}}', 'missing field'],
    ['{"user":{"id":"u1"},"price":{"amount":"ten"}}', 'bad value'],
    ['{"user":{"id":"u1"},"price":{"amount":null}}', 'non-scalar value'],
    ['{"user":{"id":"u1"},"price":{"amount":{"value":1}}}', 'non-scalar value'],
    ['{"user":{"id":"u1"},"price":{"amount":true}}', 'bad value'],
    ['{"user":{"id":"u1"},"price":{"amount":1e400}}', 'bad value'],
    ['{"user":{"id":"u1"},"price":{"amount":""}}', 'bad value'],
    ['{"user":{"id":"u1"},"price":{"amount":1}}', 'missing field'],
    ['{"user":{"id":"u1"},"price":{"amount":1},"ts":[1772359200]}', 'non-scalar value'],
    ['{"user":{"id":"u1"},"price":{"amount":1},"ts":"soon"}', 'bad time'],
    ['{"user":{"id":"u1"},"price":{"amount":1},"ts":"1969-12-31T23:59:59Z"}', 'bad time'],
    ['{"user":{"id":"u1"},"price":{"amount":1},"ts":-5}', 'bad time'],
  ])('%s is rejected: %s', (line, reason) => {
    expect(read(JSON_SPECS, line)).toBe(reason);
  });
});

describe('makeRecordReader: regex', () => {
  it('takes the first capture group, or the whole match without one', () => {
    const options = { key: 'regex=user=(\\w+)', value: 'regex=took (\\d+(?:\\.\\d+)?)ms', time: 'regex=^(\\S+)' };
    expect(read(options, '2026-03-01T10:00:00Z GET user=alice took 12.5ms')).toEqual({ key: 'alice', value: 12.5, time: T });
    expect(read({ key: 'regex=[a-z]+\\d', value: 'regex=-?\\d+$' }, 'xx abc1 = -4')).toEqual({ key: 'abc1', value: -4, time: NaN });
  });

  it('rejects a line the key regex does not match, or whose group did not take part', () => {
    expect(read({ key: 'regex=user=(\\w+)' }, 'no user here')).toBe('no match');
    expect(read({ key: 'regex=a|(b)' }, 'a')).toBe('no match');
  });

  it('rejects a line whose value or time regex does not match', () => {
    expect(read({ key: 'line', value: 'regex=took (\\d+)ms' }, 'took forever')).toBe('no match');
    expect(read({ key: 'line', time: 'regex=at (\\d+)' }, 'at noon')).toBe('no match');
    // Matched, but what it captured is no number or time.
    expect(read({ key: 'line', value: 'regex=took (\\S+)' }, 'took forever')).toBe('bad value');
    expect(read({ key: 'line', time: 'regex=at (\\S+)' }, 'at noon')).toBe('bad time');
  });
});

describe('makeRecordReader: reject reasons', () => {
  const options: Options = { key: 'field=1', value: 'field=2', time: 'field=3' };

  it.each([
    ['', 'missing field'],
    ['   ', 'missing field'],
    ['k', 'missing field'],
    ['k abc 1772359200', 'bad value'],
    ['k NaN 1772359200', 'bad value'],
    ['k Infinity 1772359200', 'bad value'],
    ['k 0x10 1772359200', 'bad value'],
    ['k 1e999 1772359200', 'bad value'],
    ['k 9007199254740993 1772359200', 'bad value'],
    ['k 1', 'missing field'],
    ['k 1 yesterday', 'bad time'],
    ['k 1 2026-02-30', 'bad time'],
    ['k 1 NaN', 'bad time'],
    ['k 1 -1', 'bad time'],
  ])('%j is rejected: %s', (line, reason) => {
    expect(read(options, line)).toBe(reason);
  });

  it('checks the key first, then the value, then the time', () => {
    const delimited: Options = { ...options, delimiter: ',' };
    expect(read({ key: 'field=4', value: 'field=2', time: 'field=3' }, 'k bad bad')).toBe('missing field');
    expect(read(delimited, 'k,bad,bad')).toBe('bad value');
    expect(read(delimited, 'k,1,bad')).toBe('bad time');
    expect(read(delimited, 'k,1,1772359200')).toEqual({ key: 'k', value: 1, time: T });
  });

  it('an empty delimited value or time is rejected, not taken as 0', () => {
    expect(read({ ...options, delimiter: ',' }, 'k,,1772359200')).toBe('bad value');
    expect(read({ ...options, delimiter: ',' }, 'k,1,')).toBe('bad time');
  });

  it('reports only the reasons a record reader can give', () => {
    const reasons = new Set<string>();
    for (const line of ['', 'k', 'k x', 'k 1 x', 'k 1 1772359200']) {
      const result = read(options, line);
      if (typeof result === 'string') reasons.add(result);
    }
    expect([...reasons].sort()).toEqual(['bad time', 'bad value', 'missing field']);
  });
});

describe('makeRecordReader: the reason names the cause, for every part of a record', () => {
  /** The reason a reader with these specs (and --dedupe ID) gives for the line. */
  function reason(options: Options & { id?: string }, line: string): string | null {
    const reader = makeRecordReader({ ...specs(options), id: options.id === undefined ? null : parseFieldSpec(options.id, '--dedupe') });
    return reader(line, fresh());
  }

  it('invalid JSON, whichever part reads JSON, before any part is looked at', () => {
    expect(reason({ key: 'json=k' }, '{"k":')).toBe('invalid JSON');
    expect(reason({ key: 'field=1', value: 'json=v' }, 'k {"v":1}')).toBe('invalid JSON');
    expect(reason({ key: 'field=9', time: 'json=t' }, 'not json')).toBe('invalid JSON');
    expect(reason({ key: 'field=1', id: 'json=id' }, 'k 1')).toBe('invalid JSON');
  });

  it.each([
    ['key', { key: 'field=3' }, 'a b'],
    ['value', { key: 'field=1', value: 'field=3' }, 'a b'],
    ['time', { key: 'field=1', time: 'field=3' }, 'a b'],
    ['id', { key: 'field=1', id: 'field=3' }, 'a b'],
    ['key', { key: 'json=a.b' }, '{"a":{}}'],
    ['value', { key: 'json=k', value: 'json=v' }, '{"k":"x"}'],
    ['time', { key: 'json=k', time: 'json=t.ms' }, '{"k":"x","t":5}'],
    ['id', { key: 'json=k', id: 'json=id' }, '{"k":"x"}'],
    ['key (an inherited property is not in the line)', { key: 'json=toString' }, '{}'],
  ])('missing field: the %s is absent', (_part, options, line) => {
    expect(reason(options, line)).toBe('missing field');
  });

  it.each([
    ['key', { key: 'regex=k=(\\w+)' }, 'v=1'],
    ['value', { key: 'line', value: 'regex=v=(\\d+)' }, 'k=a'],
    ['time', { key: 'line', time: 'regex=t=(\\d+)' }, 'k=a'],
    ['id', { key: 'line', id: 'regex=id=(\\w+)' }, 'k=a'],
  ])('no match: the %s regex matches nothing', (_part, options, line) => {
    expect(reason(options, line)).toBe('no match');
  });

  it.each([
    ['key', { key: 'json=k' }, '{"k":{"a":1}}'],
    ['value', { key: 'json=k', value: 'json=v' }, '{"k":"x","v":[1]}'],
    ['time', { key: 'json=k', time: 'json=t' }, '{"k":"x","t":null}'],
    ['id', { key: 'json=k', id: 'json=id' }, '{"k":"x","id":{"n":1}}'],
  ])('non-scalar value: the %s is an object, array or null', (_part, options, line) => {
    expect(reason(options, line)).toBe('non-scalar value');
  });

  it('empty id: an id that is there but empty (bad value and bad time are there but not a number or time)', () => {
    expect(reason({ key: 'field=1', id: 'field=2', delimiter: ',' }, 'k,')).toBe('empty id');
    expect(reason({ key: 'json=k', id: 'json=id' }, '{"k":"x","id":""}')).toBe('empty id');
    expect(reason({ key: 'json=k', value: 'json=v' }, '{"k":"x","v":"ten"}')).toBe('bad value');
    expect(reason({ key: 'json=k', time: 'json=t' }, '{"k":"x","t":"soon"}')).toBe('bad time');
    expect(reason({ key: 'json=k', id: 'json=id', value: 'json=v' }, '{"k":"x","id":7,"v":1}')).toBeNull();
  });

  it('NUL byte: a JSON key or id that decodes to a NUL (the framer already rejects raw NUL bytes)', () => {
    expect(reason({ key: 'json=k' }, '{"k":"a\\u0000b"}')).toBe('NUL byte');
    expect(reason({ key: 'json=k', id: 'json=id' }, '{"k":"x","id":"\\u0000"}')).toBe('NUL byte');
    // In turn: a key that is missing is reported before an id holding a NUL.
    expect(reason({ key: 'json=q', id: 'json=id' }, '{"k":"x","id":"\\u0000"}')).toBe('missing field');
    expect(reason({ key: 'json=k', id: 'json=id' }, '{"k":"a\\u0001b","id":"\\u00e9"}')).toBeNull();
  });
});
