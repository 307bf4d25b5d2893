import { describe, expect, it } from 'vitest';
import { parseValue } from '../../src/records/value.js';

describe('parseValue: finite decimal numbers', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['-7', -7],
    ['+3', 3],
    ['007', 7],
    ['3.14', 3.14],
    ['-0.5', -0.5],
    ['+0.25', 0.25],
    ['.5', 0.5],
    ['-.5', -0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E3', 1000],
    ['2.5e-3', 0.0025],
    ['-1.5E+2', -150],
    ['.5e1', 5],
    ['1e20', 1e20], // an exponent form, exactly representable
    ['1e308', 1e308],
    ['1.7976931348623157e308', Number.MAX_VALUE],
    ['5e-324', 5e-324],
    ['123456789.123456789', 123456789.123456789],
  ])('%s is %d', (text, value) => {
    expect(parseValue(text)).toBe(value);
  });

  it('ignores surrounding whitespace', () => {
    expect(parseValue(' 12 ')).toBe(12);
    expect(parseValue('\t-3.5\r')).toBe(-3.5);
  });

  it('accepts integers up to 2^53 - 1 in magnitude, exactly', () => {
    expect(parseValue('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseValue('-9007199254740991')).toBe(-Number.MAX_SAFE_INTEGER);
    expect(parseValue('+9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseValue('0009007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('parseValue: refusals (never a silent 0)', () => {
  it.each([
    '',
    ' ',
    '\t',
    'abc',
    'twelve',
    'null',
    'true',
    '.',
    '-',
    '+',
    '--1',
    '+-1',
    '1.2.3',
    '1..2',
    'e5',
    '1e',
    '1e+',
    '1e1.5',
    '1 2',
    '1,5',
    '1_000',
    '5%',
    '$5',
    '12abc',
    '０x１', // full-width
    '１２', // full-width digits
    '١٢', // Arabic-Indic digits
  ])('refuses %j', (text) => {
    expect(parseValue(text)).toBeNull();
  });

  it.each(['0x10', '0X1F', '-0x10', '0b101', '0o17', '0xff.8'])('refuses hex, binary and octal %j', (text) => {
    expect(parseValue(text)).toBeNull();
  });

  it.each(['NaN', 'nan', '-NaN', 'Infinity', '-Infinity', '+Infinity', 'infinity', 'inf', '∞'])('refuses %j', (text) => {
    expect(parseValue(text)).toBeNull();
  });

  it.each(['1e999', '-1e999', '1e309', '2e308', '1.8e308', '9'.repeat(400)])('refuses %j, which overflows to Infinity', (text) => {
    expect(parseValue(text)).toBeNull();
  });

  it.each([
    '9007199254740993',
    '-9007199254740993',
    '9007199254740995',
    '18014398509481985',
    '12345678901234567890',
    '99999999999999999999999',
  ])('refuses the integer %s, written beyond 2^53 (a float64 cannot hold it exactly)', (text) => {
    expect(parseValue(text)).toBeNull();
  });

  it('refuses an integer beyond 2^53 written with a zero fraction: it would be just as inexact', () => {
    // 9007199254740993.0 is the integer 2^53 + 1; as a float64 it becomes 2^53.
    expect(parseValue('9007199254740993.0')).toBeNull();
    expect(parseValue('12345678901234567890.000')).toBeNull();
  });
});
