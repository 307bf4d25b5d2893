import type { ResultRow } from '../model.js';

/**
 * The output order within a window: value descending (quantile rows: the
 * highest quantile), then key ascending by UTF-16 code units (never locale-dependent). Applied when rows are shown,
 * not when they are published, so a quiet worker never pays for sorting.
 */
export function orderRows(rows: readonly ResultRow[]): ResultRow[] {
  if (rows.some((r) => typeof r[1] === 'object')) return [...rows].sort(compareQuantileRows);
  if (rows.some((r) => typeof r[1] === 'bigint')) return [...rows].sort(compareRows);
  // Group keys by value and sort each group with the native string order: much
  // faster than one comparator call per comparison on large windows.
  const groups = new Map<number, string[]>();
  for (const [key, value] of rows) {
    const group = groups.get(value as number);
    if (group === undefined) groups.set(value as number, [key]);
    else group.push(key);
  }
  const values = [...groups.keys()].sort((a, b) => b - a);
  const ordered = new Array<ResultRow>(rows.length);
  let i = 0;
  for (const value of values) {
    for (const key of groups.get(value)!.sort()) ordered[i++] = [key, value];
  }
  return ordered;
}

export function compareRows(a: ResultRow, b: ResultRow): number {
  // Relational operators, not !==: a bigint and a number of equal value are equal here.
  if (a[1] > b[1]) return -1;
  if (a[1] < b[1]) return 1;
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Quantile rows: by the highest quantile (the last), descending, then by key. */
function compareQuantileRows(a: ResultRow, b: ResultRow): number {
  const x = highest(a[1]);
  const y = highest(b[1]);
  if (x > y) return -1;
  if (x < y) return 1;
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function highest(value: ResultRow[1]): number | bigint {
  return typeof value === 'object' ? (value[value.length - 1] ?? -Infinity) : value;
}
