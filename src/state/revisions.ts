/** A window's latest publication, as a finalization needs it. */
export interface LastRevision {
  readonly revision: number;
  /** The highest delta id merged into its rows. */
  readonly throughDelta: number;
  readonly rows: string;
  readonly rowCount: number;
}

export interface NextRevision {
  readonly revision: number;
  readonly final: boolean;
  /** Deltas arrived since `last`: the rows are merged anew (else the last rows are published again, now final). */
  readonly changed: boolean;
}

/**
 * The revision rule, for every backend: a window all live workers have moved
 * past is published final when the watermark passed its end, else
 * provisional; a provisional window is published again only when its deltas
 * changed (a delta newer than the last revision's) or once it becomes final.
 * Null: nothing to publish.
 */
export function nextRevision(end: number, lastDelta: number, last: LastRevision | undefined, watermark: number): NextRevision | null {
  const final = end <= watermark;
  const changed = last === undefined || lastDelta > last.throughDelta;
  if (!changed && !final) return null;
  return { revision: (last?.revision ?? 0) + 1, final, changed };
}
