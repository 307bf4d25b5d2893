const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NO_EXPONENT = /^[^eE]*$/;

/**
 * A record's numeric value: a finite decimal number (exponent allowed), or
 * null. Empty strings, hex, "NaN", "Infinity" and overflowing numbers are not
 * values; they must not silently become 0. Nor is an integer written beyond
 * 2^53 (with or without a fraction): a float64 cannot hold it exactly, and integer results must be exact.
 */
export function parseValue(text: string): number | null {
  const t = text.trim();
  if (!DECIMAL.test(t)) return null;
  const n = Number(t);
  if (!Number.isFinite(n)) return null;
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER && NO_EXPONENT.test(t)) return null;
  return n;
}
