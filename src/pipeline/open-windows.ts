import type { WindowTable } from '../reducers/window-table.js';
import type { HeldWindow, WindowDelta } from '../state/port.js';

/**
 * The windows this worker has open in memory, one table each, of one kind T
 * (what records are added to, through `at`). Everything else, commits,
 * finalization, the end of a run, goes through the WindowTable interface.
 *
 * A table that stays after its commits (a word count's) also remembers the
 * delta rows it committed, whose sum its totals hold, so that finalizing
 * merges only the other workers' deltas into it. null once that no longer
 * holds (a rejoin after being fenced out, a delta the store did not write as
 * sent).
 */
export class OpenWindows<T extends WindowTable> {
  private readonly tables = new Map<number, T>();
  private readonly ownDeltaIds = new Map<number, number[] | null>();
  /** The table records went to last: the next record very likely goes there too. */
  private current: T | null = null;
  private currentStart = NaN;

  constructor(
    private readonly windowMs: number,
    private readonly newTable: () => T,
    /** Told when a window gets its table (its first data since the last commit that dropped it). */
    private readonly opened: (start: number) => void,
  ) {}

  /** How many windows have a table now. */
  get size(): number {
    return this.tables.size;
  }

  /** The table of the window starting at `start`, made on first use. */
  at(start: number): T {
    const current = this.current;
    if (current !== null && start === this.currentStart) return current;
    let table = this.tables.get(start);
    if (table === undefined) {
      table = this.newTable();
      this.tables.set(start, table);
      this.opened(start);
    }
    this.current = table;
    this.currentStart = start;
    return table;
  }

  /** Each window's start and table. */
  entries(): IterableIterator<[number, T]> {
    return this.tables.entries();
  }

  /** What the next commit sends: each window's uncommitted partials. */
  deltas(): WindowDelta[] {
    const windows: WindowDelta[] = [];
    for (const [start, table] of this.tables) {
      const delta = table.unsettled();
      if (delta.size > 0) windows.push({ start, end: start + this.windowMs, delta });
    }
    return windows;
  }

  /**
   * The commit of `windows` (from `deltas()`) is done, its rows are
   * `deltaIds`: tables that stay are settled and remember their rows; the
   * others are dropped. `ownRows` false: the store built other deltas too
   * (--dedupe), so no table's totals are its window's rows any more.
   */
  committed(windows: readonly WindowDelta[], deltaIds: ReadonlyMap<number, number>, ownRows: boolean): void {
    this.current = null;
    this.currentStart = NaN;
    for (const [start, table] of this.tables) {
      if (!table.settle()) this.drop(start);
    }
    for (const { start } of windows) {
      const ids = this.ownDeltaIds.get(start);
      if (!this.tables.has(start) || ids === null) continue;
      const id = deltaIds.get(start);
      if (id === undefined || !ownRows) this.ownDeltaIds.set(start, null);
      else if (ids === undefined) this.ownDeltaIds.set(start, [id]);
      else ids.push(id);
    }
  }

  /** After a rejoin: rows committed under the old worker id may be gone (a forced restore). */
  forgetOwnRows(): void {
    for (const start of this.ownDeltaIds.keys()) this.ownDeltaIds.set(start, null);
  }

  /** The windows held merged in memory, for a finalization by `workerId` to start from. */
  held(workerId: string): HeldWindow[] {
    const held: HeldWindow[] = [];
    for (const [start, table] of this.tables) {
      const ids = this.ownDeltaIds.get(start);
      if (ids === undefined || ids === null) continue;
      const totals = table.settledTotals();
      if (totals !== null) held.push({ workerId, start, deltaIds: ids, totals });
    }
    return held;
  }

  drop(start: number): void {
    this.tables.delete(start);
    this.ownDeltaIds.delete(start);
    if (start === this.currentStart) {
      this.current = null;
      this.currentStart = NaN;
    }
  }

  /** Drops the tables of windows ending by `time`: published, or left to the store to merge. */
  dropEndingBy(time: number): void {
    for (const start of this.tables.keys()) {
      if (start + this.windowMs <= time) this.drop(start);
    }
  }

  /**
   * At the end of a run, empties the set: for each window whose rows this
   * worker committed in several deltas, their sum as one delta (to replace
   * them), with the rows it replaces.
   */
  *closeAll(): Generator<{ window: WindowDelta; replaces: readonly number[] }> {
    for (const [start, table] of this.tables) {
      const ids = this.ownDeltaIds.get(start);
      if (ids === undefined || ids === null || ids.length < 2) continue;
      const totals = table.settledTotals();
      if (totals === null) continue;
      totals.countTotals();
      yield { window: { start, end: start + this.windowMs, delta: totals.unsettled() }, replaces: ids };
    }
    this.tables.clear();
    this.ownDeltaIds.clear();
    this.current = null;
    this.currentStart = NaN;
  }
}
