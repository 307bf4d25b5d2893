/** Readers shared by the revisions tests: the publication log, watch and query as the tests compare them. */
import { expect } from 'vitest';
import { parseJsonLines, peekDb, runCliOk, waitFor, watchRows, generateWordCorpus, type JsonRow } from './helpers.js';

// ---------------------------------------------------------------------------
// Readers
// ---------------------------------------------------------------------------

/** One publication, straight from the `results` table. */
export interface Publication {
  readonly seq: number;
  readonly job: string;
  readonly window_start: number;
  readonly window_end: number;
  readonly revision: number;
  readonly final: number;
  readonly rows: string;
}

/** The publication log in seq order (`SELECT *`, so a schema without revisions fails on the values, not here). */
export async function publications(db: string): Promise<Publication[]> {
  const all = await waitFor('the results table', () =>
    peekDb(db, (d) => d.prepare('SELECT * FROM results ORDER BY seq').all() as Publication[]),
  );
  return all.map(({ seq, job, window_start, window_end, revision, final, rows }) => ({
    seq,
    job,
    window_start,
    window_end,
    revision,
    final,
    rows,
  }));
}

export function rowsOf(p: Publication): Map<string, number> {
  return new Map(JSON.parse(p.rows) as Array<[string, number]>);
}

/** watch rows with the publication fields. */
export type WatchRow = JsonRow & { readonly seq: number; readonly revision: number; readonly final: boolean };
export type QueryRow = Omit<JsonRow, 'state'> & { readonly state: 'open' | 'provisional' | 'final' };

/** Per-key totals over rows of any window (query rows may say `provisional`, which JsonRow does not know). */
export function keyTotals(rows: ReadonlyArray<{ readonly key: string; readonly value: number }>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const r of rows) totals.set(r.key, (totals.get(r.key) ?? 0) + r.value);
  return totals;
}

export async function watched(db: string, extra: readonly string[] = []): Promise<WatchRow[]> {
  return (await watchRows(db, extra)) as WatchRow[];
}

export async function queried(db: string): Promise<QueryRow[]> {
  return parseJsonLines((await runCliOk(['query', '--db', db, '--format', 'json'])).stdout) as unknown as QueryRow[];
}

/** watch rows grouped by publication, in order: seq, window, revision, final and the rows' totals. */
export function watchPublications(rows: readonly WatchRow[]) {
  const out: Array<{ seq: number; start: string; end: string; revision: number; final: boolean; rows: Map<string, number> }> = [];
  for (const r of rows) {
    let last = out[out.length - 1];
    if (last === undefined || last.seq !== r.seq) {
      last = { seq: r.seq, start: r.window_start, end: r.window_end, revision: r.revision, final: r.final, rows: new Map() };
      out.push(last);
    }
    expect([r.window_start, r.revision, r.final], `every row of seq ${r.seq} names the same publication`).toEqual([
      last.start,
      last.revision,
      last.final,
    ]);
    expect(last.rows.has(r.key), `key ${r.key} twice in seq ${r.seq}`).toBe(false);
    last.rows.set(r.key, r.value);
  }
  return out;
}

/** Window starts of every delta row and every publication: where the database put anything. */
export function windowsInDatabase(db: string): number[] {
  return peekDb(db, (d) =>
    d.prepare('SELECT window_start FROM deltas UNION SELECT window_start FROM results ORDER BY 1').pluck().all() as number[],
  )!;
}

/** What a stream command's json output says it published: `WINDOW_START rREVISION final|provisional`, once each. */
export function printedMarks(stdout: string): Set<string> {
  return new Set(
    (parseJsonLines(stdout) as Array<JsonRow & { revision?: number; final?: boolean }>).map(
      (r) => `${r.window_start} r${r.revision} ${r.final === true ? 'final' : r.final === false ? 'provisional' : r.final}`,
    ),
  );
}

export const iso = (ms: number) => new Date(ms).toISOString();

/** Small word-count inputs: a few hundred words over a vocabulary with multi-byte UTF-8. */
export function smallText(random: () => number, bytes: number): string {
  return generateWordCorpus(random, bytes, 60).toString('utf8');
}
