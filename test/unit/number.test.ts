import { describe, expect, it } from 'vitest';
import { formatNumber } from '../../src/sinks/number.js';
import { seededRandom } from '../support/prng.js';

describe('formatNumber: plain decimal, never exponent notation', () => {
  it.each([
    [0, '0'],
    [-0, '0'],
    [7, '7'],
    [-42, '-42'],
    [123.5, '123.5'],
    [-0.25, '-0.25'],
    [0.1, '0.1'],
    [1e21, '1000000000000000000000'],
    [-1e21, '-1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [2 ** 70, '1180591620717411303424'],
    [1e-7, '0.0000001'],
    [-1e-7, '-0.0000001'],
    [1.5e-7, '0.00000015'],
    [123456789.125, '123456789.125'],
    [Number.MAX_SAFE_INTEGER, '9007199254740991'],
  ])('%d is %j', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });

  it('never writes an exponent, for magnitudes from 1e-30 to 1e300', () => {
    for (let exponent = -30; exponent <= 300; exponent++) {
      for (const mantissa of [1, 1.5, 3.14159, 9.999]) {
        for (const sign of [1, -1]) {
          const value = sign * mantissa * 10 ** exponent;
          expect(formatNumber(value), `${value}`).toMatch(/^-?\d+(\.\d+)?$/);
        }
      }
    }
  });

  it('reads back as the same number, for magnitudes from 1e-30 to 1e300', () => {
    const lost: string[] = [];
    for (let exponent = -30; exponent <= 300; exponent++) {
      for (const mantissa of [1, 1.5, 3.14159, 9.999, 1.2345678901234567]) {
        for (const sign of [1, -1]) {
          const value = sign * mantissa * 10 ** exponent;
          const text = formatNumber(value);
          if (Number(text) !== value) lost.push(`${value} written as ${text}`);
        }
      }
    }
    expect(lost.slice(0, 5)).toEqual([]);
  });

  it('keeps every significant digit of a small non-integer (an avg of tiny values)', () => {
    for (const value of [1.2345678901234567e-10, 2.5e-15, 1e-21, 3.3333333333333335e-8]) {
      const text = formatNumber(value);
      expect(text).toMatch(/^-?\d+(\.\d+)?$/);
      expect(Number(text), `${value} written as ${text}`).toBe(value);
    }
  });
});

/** A float64 from 64 random bits (any sign, exponent and mantissa), skipping NaN and the infinities. */
function randomDouble(random: () => number): number {
  const view = new DataView(new ArrayBuffer(8));
  for (;;) {
    view.setUint32(0, Math.floor(random() * 2 ** 32));
    view.setUint32(4, Math.floor(random() * 2 ** 32));
    const value = view.getFloat64(0);
    if (Number.isFinite(value)) return value;
  }
}

/** The significant digits of a number's shortest round-trip form, without sign, point, exponent or padding zeros. */
function shortestDigits(value: number): string {
  const text = String(Math.abs(value));
  const mantissa = text.split('e')[0]!.replace('.', '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '');
}

describe('formatNumber: exact renderings', () => {
  it.each([
    [1e-21, '0.000000000000000000001'],
    [-1e-21, '-0.000000000000000000001'],
    [1.2345678901234568e-10, '0.00000000012345678901234568'],
    [3.3333333333333334e-8, '0.000000033333333333333334'],
    [1e-100, `0.${'0'.repeat(99)}1`],
    [5e-324, `0.${'0'.repeat(323)}5`],
    [-2.2250738585072014e-308, `-0.${'0'.repeat(307)}22250738585072014`],
  ])('writes the float %d with all its shortest round-trip digits, no 20-digit cap: %j', (value, text) => {
    expect(formatNumber(value)).toBe(text);
    expect(Number(formatNumber(value))).toBe(value);
  });

  it.each([
    [1e21, 1000000000000000000000n],
    [1e23, 99999999999999991611392n], // the float64 nearest 1e23, exactly
    [2 ** 70 + 2 ** 20, 2n ** 70n + 2n ** 20n],
    [-(2 ** 80), -(2n ** 80n)],
    [Number.MAX_VALUE, BigInt(Number.MAX_VALUE)],
  ])('writes the integer %d (>= 1e21) as its exact binary value', (value, exact) => {
    expect(formatNumber(value)).toBe(exact.toString());
  });

  it('writes a bigint as its decimal digits', () => {
    expect(formatNumber(0n)).toBe('0');
    expect(formatNumber(2n ** 53n + 1n)).toBe('9007199254740993');
    expect(formatNumber(-(2n ** 64n))).toBe('-18446744073709551616');
    expect(formatNumber(10n ** 40n + 7n)).toBe(`1${'0'.repeat(39)}7`);
  });

  it('for random float64 bit patterns: plain decimal, reads back the same, keeps exactly the shortest digits', () => {
    const random = seededRandom(99);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const value = randomDouble(random);
      const text = formatNumber(value);
      if (!/^-?\d+(\.\d+)?$/.test(text)) wrong.push(`${value}: not plain: ${text}`);
      else if (Number(text) !== value) wrong.push(`${value}: reads back as ${Number(text)}`);
      else if (Number.isInteger(value) && Math.abs(value) >= 1e21) {
        if (BigInt(text) !== BigInt(value)) wrong.push(`${value}: not its exact value: ${text}`);
      } else if (text.replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '') !== shortestDigits(value)) {
        wrong.push(`${value}: digits changed: ${text}`);
      }
      if (text.startsWith('-') !== value < 0) wrong.push(`${value}: sign: ${text}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
