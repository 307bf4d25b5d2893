import { windowStartOf } from '../windows/tumbling.js';

export interface WindowClockOptions {
  readonly windowMs: number;
  /** Event time (--time SPEC); false: processing time. */
  readonly eventTime: boolean;
  readonly latenessMs: number;
  /** Event time: quiet input this long lets the watermark follow the wall clock; null never. */
  readonly idleTimeoutMs: number | null;
  /** How long to wait before trying again to fire windows that other workers still hold. */
  readonly retryMs: number;
}

/**
 * A worker's sense of time: its watermark, which window a record belongs to,
 * which records are late, and when windows are due to fire.
 *
 * The watermark decides when a window is finished (its end <= watermark): in
 * processing time it is the wall clock; in event time it is the newest event
 * time read minus the lateness. A record whose window has already ended by
 * the watermark when it is read is late. Because the newest event time is
 * committed with each source's offset (and restored from there), a rerun
 * after a crash makes exactly the same late decisions as an uninterrupted run.
 * `now` is always the wall clock, passed in.
 */
export class WindowClock {
  private readonly windowMs: number;
  private maxEventTime = -Infinity;
  /** Wall clock and newest event time at the last record, for --idle-timeout. */
  private lastRecordWall: number;
  private eventTimeAtLastRecord = -Infinity;
  /** Finalized window starts above the watermark (after a rerun, an idle advance or an early publication). */
  private finalizedAhead = new Set<number>();
  /** Earliest end among windows holding data that is not finalized yet. */
  private nextFire = Infinity;
  private nextFireAttempt = 0;

  constructor(
    private readonly options: WindowClockOptions,
    now: number,
  ) {
    this.windowMs = options.windowMs;
    this.lastRecordWall = now;
  }

  get eventTime(): boolean {
    return this.options.eventTime;
  }

  watermark(now: number): number {
    return this.options.eventTime ? this.maxEventTime - this.options.latenessMs : now;
  }

  /** The watermark as a worker commits it: null before any event time is known (it holds everything back). */
  committedWatermark(now: number): number | null {
    const mark = this.watermark(now);
    return Number.isFinite(mark) ? mark : null;
  }

  /** Event time with --idle-timeout: no record for that long; the worker no longer holds back the shared watermark. */
  isIdle(now: number): boolean {
    const timeout = this.options.idleTimeoutMs;
    return this.options.eventTime && timeout !== null && now - this.lastRecordWall >= timeout;
  }

  /** After --idle-timeout without records, event time moves on with the wall clock. */
  advanceIdle(now: number): void {
    if (!this.isIdle(now) || this.eventTimeAtLastRecord === -Infinity) return;
    const advanced = this.eventTimeAtLastRecord + (now - this.lastRecordWall);
    if (advanced > this.maxEventTime) this.maxEventTime = advanced;
  }

  /** Event time on a rerun: the newest event time committed for this run's sources. */
  restore(maxEventTime: number): void {
    if (maxEventTime > this.maxEventTime) this.maxEventTime = maxEventTime;
    this.eventTimeAtLastRecord = this.maxEventTime;
  }

  /** Event time: the final windows ending after the watermark (read from the store); a record for one is late. */
  setFinalizedAhead(starts: Iterable<number>): void {
    this.finalizedAhead = new Set(starts);
  }

  /**
   * Processing time: the window of a record read at `now`, never another: one
   * published provisional is amended; one already final takes nothing (the
   * store counts the record late).
   */
  processingStart(now: number): number {
    return windowStartOf(now, this.windowMs);
  }

  /**
   * Event time: the window of a record at `time`, read at `now`; NaN when the
   * record is late. A late record still shows how far event time has got.
   */
  eventStart(time: number, now: number): number {
    const start = windowStartOf(time, this.windowMs);
    const late = start + this.windowMs <= this.maxEventTime - this.options.latenessMs || this.finalizedAhead.has(start);
    if (time > this.maxEventTime) this.maxEventTime = time;
    this.lastRecordWall = now;
    this.eventTimeAtLastRecord = this.maxEventTime;
    return late ? NaN : start;
  }

  /** A window got its first data here: it is due once the watermark reaches its end. */
  windowOpened(start: number): void {
    const end = start + this.windowMs;
    if (end < this.nextFire) this.nextFire = end;
  }

  /**
   * The earliest end among the job's open windows in the store (any worker's):
   * due here too, so a worker without records of its own still publishes
   * what finished workers left open once the watermark passes it.
   */
  storeWindowsOpenUntil(earliestOpenEnd: number | null): void {
    if (earliestOpenEnd !== null && earliestOpenEnd < this.nextFire) this.nextFire = earliestOpenEnd;
  }

  /** Whether a window is due to fire. */
  fireDue(now: number): boolean {
    return this.watermark(now) >= this.nextFire && now >= this.nextFireAttempt;
  }

  /**
   * After a firing at `now`: the next is due at the earliest end still open
   * in the store. When other workers still hold a window past the watermark,
   * the next try waits rather than taking the write lock on every tick.
   */
  fired(now: number, earliestOpenEnd: number | null): void {
    this.nextFire = earliestOpenEnd ?? Infinity;
    if (this.watermark(now) >= this.nextFire) this.nextFireAttempt = now + this.options.retryMs;
  }
}
