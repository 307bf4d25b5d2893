import type { NetworkStats } from '../sources/source.js';
import type { SourceProgress } from '../state/port.js';

/**
 * How far one source (a file, stdin, or a network input with all its
 * connections) has been read and committed. Its lanes move `toOffset`,
 * `lines` and `maxEventTime` as they read; a commit covers [fromOffset,
 * toOffset).
 */
export interface SourceCursor {
  readonly kind: string;
  /** What messages and --reject-output call the source. */
  readonly label: string;
  /** A file's device:inode (it changes on rotation); null for others. */
  identity: string | null;
  readonly network: NetworkStats | null;
  fromOffset: number;
  toOffset: number;
  /** Lines read since the last commit. */
  lines: number;
  /** Newest event time among this source's records read so far (event time only). */
  maxEventTime: number | null;
  /** This run's records counted and bytes read from the source, never reset (--metrics reads them). */
  records: number;
  bytes: number;
}

/** A cursor as an input starts it: its run totals start at 0. */
export type NewCursor = Omit<SourceCursor, 'records' | 'bytes'>;

/**
 * A cursor for counting outside the run's sources: a counting thread's, whose
 * lines the reading thread adds to the real cursor.
 */
export function detachedCursor(kind: string, label: string): SourceCursor {
  return { kind, label, identity: null, network: null, fromOffset: 0, toOffset: 0, lines: 0, maxEventTime: null, records: 0, bytes: 0 };
}

/** The cursors of a run's sources, by source id, and what a batch covers of them. */
export class SourceCursors {
  private readonly cursors = new Map<string, SourceCursor>();

  add(id: string, start: NewCursor): SourceCursor {
    const cursor: SourceCursor = { ...start, records: 0, bytes: 0 };
    this.cursors.set(id, cursor);
    return cursor;
  }

  /** Every source read so far, by id. */
  entries(): IterableIterator<[string, SourceCursor]> {
    return this.cursors.entries();
  }

  /**
   * Where each source stands now: the offsets the next batch covers up to
   * (taken before counting threads are asked for their tables, since
   * readers may go on while they answer).
   */
  cut(): ReadonlyMap<SourceCursor, number> {
    const cut = new Map<SourceCursor, number>();
    for (const c of this.cursors.values()) cut.set(c, c.toOffset);
    return cut;
  }

  /**
   * What the next commit covers of each source that moved (network sources
   * always, for their client counts): up to `cut` (else up to now), with the
   * lines counted so far; `done()` moves each cursor on by exactly that,
   * once the commit succeeded.
   */
  batch(cut: ReadonlyMap<SourceCursor, number> = this.cut()): { readonly sources: SourceProgress[]; done(): void } {
    const sources: SourceProgress[] = [];
    const covered: Array<{ cursor: SourceCursor; toOffset: number; lines: number }> = [];
    for (const [id, c] of this.cursors) {
      // A source first read after the cut has nothing in this batch.
      const toOffset = cut.get(c);
      if (toOffset === undefined) continue;
      if (toOffset === c.fromOffset && c.lines === 0 && c.network === null) continue;
      covered.push({ cursor: c, toOffset, lines: c.lines });
      sources.push({
        source: id,
        kind: c.kind,
        fromOffset: c.fromOffset,
        toOffset,
        lines: c.lines,
        maxEventTime: c.maxEventTime,
        identity: c.identity,
        clients: c.network?.clients ?? 0,
        refused: c.network?.refused ?? 0,
      });
    }
    return {
      sources,
      done() {
        for (const { cursor, toOffset, lines } of covered) {
          cursor.fromOffset = toOffset;
          cursor.lines -= lines;
        }
      },
    };
  }
}
