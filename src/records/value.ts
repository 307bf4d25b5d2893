const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

/**
 * A record's numeric value: a finite decimal number (exponent allowed), or
 * null. Empty strings, hex, "NaN", "Infinity" and overflowing numbers are not
 * values; they must not silently become 0. Nor is an integer written beyond
 * 2^53: a float64 cannot hold it exactly, and integer results must be exact.
 */
export function parseValue(text: string): number | null {
  const t = text.trim();
  if (!DECIMAL.test(t)) return null;
  const n = Number(t);
  if (!Number.isFinite(n)) return null;
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER && INTEGER.test(t)) return null;
  return n;
}
