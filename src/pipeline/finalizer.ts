import type { Summarizer, WindowResult } from '../model.js';
import type { WindowTable } from '../reducers/window-table.js';
import type { Liveness, StateStore } from '../state/port.js';
import type { Clock } from '../windows/tumbling.js';
import type { Committer } from './committer.js';
import type { OpenWindows } from './open-windows.js';
import type { WindowClock } from './window-clock.js';

/**
 * Publishes windows: finalizes (through the store, exactly once across
 * workers) what every live worker has passed, starting from the windows
 * this worker holds merged in memory, and hands the results to `publish`.
 */
export class Finalizer {
  constructor(
    private readonly job: string,
    private readonly store: StateStore,
    private readonly wall: Clock,
    private readonly liveness: Liveness,
    private readonly summarize: Summarizer,
    private readonly publish: (result: WindowResult) => void,
    private readonly committer: Committer,
    private readonly windows: OpenWindows<WindowTable>,
    private readonly clock: WindowClock,
  ) {}

  /**
   * Commits (moving this worker's watermark), then finalizes and publishes
   * every window all live workers have passed.
   */
  async fireDue(): Promise<void> {
    await this.committer.commit();
    const now = this.wall.now();
    await this.finalize(this.committer.workerId, now);
    // Windows past the watermark are published now, by another worker already, or held by a slower
    // one (whose finalization then merges from the database): their tables are no longer needed.
    this.windows.dropEndingBy(this.clock.watermark(now));
    this.clock.fired(now, await this.store.earliestOpenWindowEnd(this.job));
  }

  /**
   * Finalizes what is ready; the held tables the store used are dropped.
   * `self` null: this worker has finished and holds nothing back.
   * `lastRun`: nothing can amend what is published now (state in memory).
   */
  async finalize(self: string | null, now: number, lastRun = false): Promise<void> {
    const outcome = await this.store.finalizeReady({
      job: this.job,
      self,
      liveness: this.liveness,
      summarize: this.summarize,
      now,
      held: this.windows.held(this.committer.workerId),
      lastRun,
    });
    for (const start of outcome.usedHeld) this.windows.drop(start);
    for (const result of outcome.published) this.publish(result);
  }

  /**
   * At the end, for the windows another live worker will finalize: this
   * worker's deltas of each become one row, summed here from memory while the
   * others still read, so the last worker merges one row per worker.
   */
  async closeWindows(): Promise<void> {
    for (const { window, replaces } of this.windows.closeAll()) {
      await this.store.collapseDeltas(this.job, window, this.committer.workerId, replaces, this.wall.now());
    }
  }
}
