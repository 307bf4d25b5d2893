import type { DeltaColumns, MergedRows, ResultRow, Summarizer } from '../model.js';
import { PartialTable } from './partial-table.js';
import { SKETCHES, SketchTable } from './sketch-table.js';
import { WordCountTable } from './word-count-table.js';
import type { Reducer, SketchReduction } from './reducers.js';

/** Merges a window's partials and reduces them to rows, in no particular order (sinks order them for display). */
export function summarizerFor(reducer: Reducer): Summarizer {
  const { sketch } = reducer;
  if (sketch !== null) return (parts) => mergeSketches(sketch, parts);
  return (parts: Iterable<DeltaColumns>): MergedRows => {
    if (!reducer.needsValue) return mergeCounts(parts);
    const merged = new PartialTable(reducer.needsValue, 1024);
    for (const part of parts) merged.addDelta(part);
    const rows = new Array<ResultRow>(merged.size);
    const keys = merged.keys;
    for (let slot = 0; slot < merged.size; slot++) {
      rows[slot] = [keys[slot]!, reducer.result(merged.partialAt(slot))];
    }
    return { size: rows.length, rows: () => rows };
  };
}

/** The union of every part's sketch per key, and each key's value from it. */
function mergeSketches(reduction: SketchReduction, parts: Iterable<DeltaColumns>): MergedRows {
  const merged = new SketchTable(SKETCHES[reduction.name]);
  for (const part of parts) merged.addDelta(part);
  const rows = new Array<ResultRow>(merged.size);
  const keys = merged.keys;
  for (let slot = 0; slot < merged.size; slot++) rows[slot] = [keys[slot]!, reduction.result(merged.sketchAt(slot))];
  return { size: rows.length, rows: () => rows };
}

/** Counts straight from the committed blobs: keys are hashed as bytes and decoded once, if the rows are read. */
function mergeCounts(parts: Iterable<DeltaColumns>): MergedRows {
  return mergeCountsInto(new WordCountTable(1024), parts);
}

/** Adds count deltas to `table`, which is used up: it holds the result. */
export function mergeCountsInto(table: WordCountTable, parts: Iterable<DeltaColumns>): MergedRows {
  for (const part of parts) table.addDelta(part);
  let rows: ResultRow[] | null = null;
  return {
    size: table.size,
    rows: () => (rows ??= table.rows()),
    json: () => table.rowsJson(),
  };
}

/**
 * A worker's settled word-count table turned into its committed totals, with
 * the window's other deltas merged on top: `totals` is used up, it holds the result.
 */
export function mergeIntoTotals(totals: WordCountTable, others: Iterable<DeltaColumns>): MergedRows {
  totals.countTotals();
  return mergeCountsInto(totals, others);
}
