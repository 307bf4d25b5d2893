import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { describeSpec, parseFieldSpec, parseKeySpec } from '../../src/records/specs.js';

describe('parseKeySpec', () => {
  it.each([
    ['word', { kind: 'word' }],
    ['line', { kind: 'line' }],
    ['field=1', { kind: 'field', index: 1 }],
    ['field=12', { kind: 'field', index: 12 }],
    ['json=user', { kind: 'json', path: ['user'] }],
    ['json=user.id', { kind: 'json', path: ['user', 'id'] }],
    ['json=a.b.c.d', { kind: 'json', path: ['a', 'b', 'c', 'd'] }],
    ['regex=user=(\\w+)', { kind: 'regex', source: 'user=(\\w+)' }],
    ['regex=^GET', { kind: 'regex', source: '^GET' }],
  ])('accepts %j', (text, spec) => {
    const parsed = parseKeySpec(text);
    expect(parsed).toEqual(spec);
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it('an unknown kind written with "=" still lists every form --key accepts, word and line included', () => {
    expect(() => parseKeySpec('csv=1')).toThrow(UsageError);
    expect(() => parseKeySpec('csv=1')).toThrow(/--key expects word, line, field=N, json=PATH or regex=RE, got 'csv=1'/);
  });

  it('keeps everything after the first "=" as the argument of regex=', () => {
    expect(parseKeySpec('regex=a=b=(c)')).toEqual({ kind: 'regex', source: 'a=b=(c)' });
  });

  it.each(['', 'words', 'Word', 'lines', 'field', 'json', 'regex', 'unknown'])(
    'refuses %j, naming --key and the accepted forms',
    (text) => {
      expect(() => parseKeySpec(text)).toThrow(UsageError);
      expect(() => parseKeySpec(text)).toThrow(/--key/);
      expect(() => parseKeySpec(text)).toThrow(/word, line, field=N, json=PATH or regex=RE/);
    },
  );

  it.each(['field=0', 'field=-1', 'field=01', 'field=1.5', 'field=x', 'field=', 'json=', 'json=a..b', 'json=.a', 'json=a.', 'regex=', 'regex=(unclosed', 'regex=[a-'])(
    'refuses %j with a UsageError naming --key',
    (text) => {
      expect(() => parseKeySpec(text)).toThrow(UsageError);
      expect(() => parseKeySpec(text)).toThrow(/--key/);
    },
  );

  it('shows the offending text in the message', () => {
    expect(() => parseKeySpec('field=0')).toThrow(/field=0/);
    expect(() => parseKeySpec('bogus')).toThrow(/'bogus'/);
  });

  it('a refused spec is a usage error (exit code 2)', () => {
    try {
      parseKeySpec('field=0');
      expect.unreachable();
    } catch (err) {
      expect((err as UsageError).exitCode).toBe(2);
    }
  });
});

describe('parseFieldSpec', () => {
  it.each([
    ['field=3', { kind: 'field', index: 3 }],
    ['json=price.amount', { kind: 'json', path: ['price', 'amount'] }],
    ['regex=took (\\d+)ms', { kind: 'regex', source: 'took (\\d+)ms' }],
  ])('accepts %j', (text, spec) => {
    const parsed = parseFieldSpec(text, '--value');
    expect(parsed).toEqual(spec);
    expect(Object.isFrozen(parsed)).toBe(true);
  });

  it.each(['word', 'line', '', 'field=0', 'field=a', 'json=', 'json=a..b', 'regex=', 'regex=(', 'value=1'])(
    'refuses %j with a UsageError naming the option it was given for',
    (text) => {
      expect(() => parseFieldSpec(text, '--value')).toThrow(UsageError);
      expect(() => parseFieldSpec(text, '--value')).toThrow(/--value/);
      expect(() => parseFieldSpec(text, '--time')).toThrow(/--time/);
    },
  );

  it('explains what each form needs', () => {
    expect(() => parseFieldSpec('field=0', '--value')).toThrow(/field number of 1 or more/);
    expect(() => parseFieldSpec('json=a..b', '--value')).toThrow(/dotted path/);
    expect(() => parseFieldSpec('regex=(', '--value')).toThrow(/invalid regular expression/);
    expect(() => parseFieldSpec('word', '--value')).toThrow(/field=N, json=PATH or regex=RE/);
  });
});

describe('describeSpec', () => {
  it.each(['word', 'line', 'field=2', 'json=user.id', 'regex=id=(\\d+)'])('round-trips %j as the user wrote it', (text) => {
    expect(describeSpec(parseKeySpec(text))).toBe(text);
  });
});
