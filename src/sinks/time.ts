/** ISO-8601 UTC with milliseconds, e.g. 2026-11-26T10:00:05.000Z. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
