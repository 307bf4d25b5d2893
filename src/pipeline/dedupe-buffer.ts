import type { DedupeRecords } from '../state/port.js';

/**
 * --dedupe: the records of the batch being read, held with their ids until
 * the commit, where the store tells which ids are new and aggregates only
 * those records. A repeated id within the batch never reaches the store; it
 * is counted as a duplicate here.
 */
export class DedupeBuffer {
  private readonly ids: string[] = [];
  private readonly starts: number[] = [];
  private readonly keys: string[] = [];
  private readonly values: number[] = [];
  private readonly inBatch = new Set<string>();
  /** Duplicates within the batch. */
  duplicates = 0;

  constructor(
    private readonly withValues: boolean,
    private readonly windowMs: number,
    private readonly ttlMs: number,
    /** quantile: the store sketches the values. */
    private readonly quantiles = false,
  ) {}

  /** Holds one record of the window starting at `start`. */
  hold(id: string, start: number, key: string, value: number): void {
    if (this.inBatch.has(id)) {
      this.duplicates++;
      return;
    }
    this.inBatch.add(id);
    this.ids.push(id);
    this.starts.push(start);
    this.keys.push(key);
    if (this.withValues) this.values.push(value);
  }

  /** The held records, for a commit at `now` (the ids it applies expire a --dedupe-ttl later). */
  records(now: number): DedupeRecords {
    return {
      ids: this.ids,
      starts: this.starts,
      keys: this.keys,
      values: this.withValues ? this.values : null,
      ...(this.quantiles ? { sketch: 'quantile' as const } : {}),
      windowMs: this.windowMs,
      expiresAt: now + this.ttlMs,
    };
  }

  /** The batch is committed. */
  clear(): void {
    this.ids.length = 0;
    this.starts.length = 0;
    this.keys.length = 0;
    this.values.length = 0;
    this.inBatch.clear();
    this.duplicates = 0;
  }
}
