import type { RowValue } from '../model.js';

/** A plain decimal rendering (never exponent notation), as the output contract promises. */
export function formatNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  const text = String(value);
  const e = text.indexOf('e');
  if (e < 0) return text;
  // Integers this large print their exact binary value, as an integer sum would.
  if (Number.isInteger(value)) return BigInt(value).toString();
  // Shift the decimal point of the shortest round-trip digits: exact, whatever the magnitude.
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const pointAt = (dot < 0 ? mantissa.length : dot) + exponent;
  let plain: string;
  if (pointAt <= 0) plain = `0.${'0'.repeat(-pointAt)}${digits}`;
  else if (pointAt >= digits.length) plain = digits + '0'.repeat(pointAt - digits.length);
  else plain = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  return negative ? `-${plain}` : plain;
}

/** A row's value as printed: a number, or a quantile row's values joined by `separator`. */
export function formatRowValue(value: RowValue, separator: string): string {
  return typeof value === 'object' ? value.map(formatNumber).join(separator) : formatNumber(value);
}
