import type { DeltaColumns } from '../model.js';
import type { WordCountTable } from './word-count-table.js';

/**
 * One open window's partials in memory, whatever the table kind: what its
 * next commit sends, whether it stays after that commit, and whether it holds
 * the totals of everything it committed. WordCountTable and PartialTable
 * implement it; what records are added through stays on the concrete table
 * (the hot path calls it directly).
 */
export interface WindowTable {
  /** The keys it holds. */
  readonly size: number;
  /** What was added since the last commit, as a delta row stores it. */
  unsettled(): DeltaColumns;
  /**
   * The delta from `unsettled()` is committed. Returns whether the table stays
   * for the window's next delta (a word-count table keeps its keys and the
   * totals of its commits); false: drop it, the store holds all it had.
   */
  settle(): boolean;
  /**
   * The table as the totals of all its committed deltas, when it keeps them
   * and holds nothing uncommitted (a finalization may start from it); else null.
   */
  settledTotals(): WordCountTable | null;
  /** Adds another table's partials, as `unsettled()` gives them (--threads: what a counting thread counted). */
  addDelta(delta: DeltaColumns): void;
}
