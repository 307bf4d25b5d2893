/** A plain decimal rendering (never exponent notation), as the output contract promises. */
export function formatNumber(value: number | bigint): string {
  if (typeof value === 'bigint') return value.toString();
  const text = String(value);
  if (!/e/i.test(text)) return text;
  if (Number.isInteger(value)) return BigInt(value).toString();
  // Up to 20 significant fraction digits is beyond float64 precision, so nothing is lost.
  return value.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}
