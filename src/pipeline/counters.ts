import type { RejectReason } from '../records/framer.js';

/**
 * Records, rejections and late records: those of the batch being read (the
 * next commit carries them) and the run's totals, which count a record only
 * once its commit says it was applied (not a duplicate, not late).
 */
export class RunCounters {
  /** This batch: records read (duplicates within it included), rejected, late. */
  records = 0;
  rejected = 0;
  late = 0;
  totalRecords = 0;
  totalLate = 0;
  totalDuplicates = 0;
  readonly rejectedBy = new Map<RejectReason, number>();
  /**
   * Rejections made while a threaded run reads ahead of a commit: their lines lie past the batch's
   * offsets, so they belong to the next batch (a rerun after a crash would reject them again).
   */
  private heldRejected: number | null = null;

  /** One record rejected for `reason` as it is read (while held, for the next batch). */
  reject(reason: RejectReason): void {
    if (this.heldRejected === null) this.rejected++;
    else this.heldRejected++;
    this.rejectedBy.set(reason, (this.rejectedBy.get(reason) ?? 0) + 1);
  }

  /**
   * `count` records rejected for `reason` by a counting thread, in the batch its answer is
   * accounted to (answers for chunks read ahead are accounted after the commit).
   */
  rejectCounted(reason: RejectReason, count: number): void {
    this.rejected += count;
    this.rejectedBy.set(reason, (this.rejectedBy.get(reason) ?? 0) + count);
  }

  /** Until releaseRejected(), rejections as lines are read wait for the next batch (readers go on past the batch's cut). */
  holdRejected(): void {
    this.heldRejected ??= 0;
  }

  /** After the commit: the rejections held back join the new batch. */
  releaseRejected(): void {
    this.rejected += this.heldRejected ?? 0;
    this.heldRejected = null;
  }

  get batchIsEmpty(): boolean {
    return this.records === 0 && this.rejected === 0 && this.late === 0;
  }

  /** The batch is committed: of its records, `duplicates` were skipped and `lateInStore` fell into finalized windows. */
  committed(duplicates: number, lateInStore: number): void {
    this.totalRecords += this.records - duplicates - lateInStore;
    this.totalLate += this.late + lateInStore;
    this.totalDuplicates += duplicates;
    this.records = 0;
    this.rejected = 0;
    this.late = 0;
  }
}
