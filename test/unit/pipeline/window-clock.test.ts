import { describe, expect, it } from 'vitest';
import { WindowClock, type WindowClockOptions } from '../../../src/pipeline/window-clock.js';

const W = 10_000;
const T0 = 1_764_151_200_000; // a multiple of W

function clock(options: Partial<WindowClockOptions> = {}, now = T0): WindowClock {
  return new WindowClock({ windowMs: W, eventTime: false, latenessMs: 0, idleTimeoutMs: null, retryMs: 1000, ...options }, now);
}

describe('WindowClock in processing time', () => {
  it('has the wall clock as its watermark and puts a record in the window of the moment it is read', () => {
    const c = clock();
    expect(c.watermark(T0 + 1234)).toBe(T0 + 1234);
    expect(c.committedWatermark(T0 + 1234)).toBe(T0 + 1234);
    expect(c.processingStart(T0 + 1234)).toBe(T0);
    expect(c.processingStart(T0 + W)).toBe(T0 + W);
    expect(c.isIdle(T0 + 10 * W)).toBe(false);
  });

  it('puts a record in the window of the moment it is read, never another (a final one counts it late in the store)', () => {
    const c = clock();
    c.setFinalizedAhead([T0, T0 + W]);
    expect(c.processingStart(T0 + 5)).toBe(T0);
    expect(c.processingStart(T0 + 2 * W + 5)).toBe(T0 + 2 * W);
  });

  it('is due to fire once the watermark reaches the earliest open end, and waits a retry after a firing others held back', () => {
    const c = clock();
    expect(c.fireDue(T0 + 3 * W)).toBe(false); // nothing open
    c.windowOpened(T0 + W);
    c.windowOpened(T0);
    expect(c.fireDue(T0 + W - 1)).toBe(false);
    expect(c.fireDue(T0 + W)).toBe(true);
    // Another worker still holds the window: it stays open in the store.
    c.fired(T0 + W, T0 + W);
    expect(c.fireDue(T0 + W + 999)).toBe(false);
    expect(c.fireDue(T0 + W + 1000)).toBe(true);
    // Published: nothing open any more.
    c.fired(T0 + W + 1000, null);
    expect(c.fireDue(T0 + 100 * W)).toBe(false);
  });
});

describe('WindowClock in event time', () => {
  it('has the newest event time minus the lateness as its watermark; nothing holds it before the first record', () => {
    const c = clock({ eventTime: true, latenessMs: 2000 });
    expect(c.committedWatermark(T0)).toBeNull();
    expect(c.eventStart(T0 + 11_000, T0)).toBe(T0 + W);
    expect(c.watermark(0)).toBe(T0 + 9000);
    expect(c.committedWatermark(0)).toBe(T0 + 9000);
  });

  it('calls a record late once its window has ended by the watermark, and a late record still moves event time', () => {
    const c = clock({ eventTime: true, latenessMs: 2000 });
    expect(c.eventStart(T0 + 1000, T0)).toBe(T0);
    expect(c.eventStart(T0 + 11_000, T0)).toBe(T0 + W); // watermark T0 + 9 s
    expect(c.eventStart(T0 + 8000, T0)).toBe(T0); // its window ends at T0 + 10 s: not yet
    expect(c.eventStart(T0 + 12_000, T0)).toBe(T0 + W); // watermark T0 + 10 s
    expect(c.eventStart(T0 + 9000, T0)).toBeNaN(); // late
    expect(c.eventStart(T0 + 40_000, T0)).toBe(T0 + 4 * W);
    expect(c.eventStart(T0 - 5000, T0)).toBeNaN(); // late, and moves nothing back
    expect(c.watermark(0)).toBe(T0 + 38_000);
  });

  it('calls a record of a window finalized ahead of the watermark late', () => {
    const c = clock({ eventTime: true });
    c.setFinalizedAhead([T0 + 5 * W]);
    expect(c.eventStart(T0 + 5 * W + 1, T0)).toBeNaN();
    expect(c.eventStart(T0 + 6 * W + 1, T0)).toBe(T0 + 6 * W);
  });

  it('restores the committed event time on a rerun: the same late decisions as an uninterrupted run', () => {
    const c = clock({ eventTime: true });
    c.restore(T0 + 25_000);
    c.restore(T0 + 15_000); // another source, behind: the newest counts
    expect(c.watermark(0)).toBe(T0 + 25_000);
    expect(c.eventStart(T0 + 19_000, T0)).toBeNaN();
    expect(c.eventStart(T0 + 21_000, T0)).toBe(T0 + 2 * W);
  });

  it('with --idle-timeout: quiet that long makes the worker idle and lets event time follow the wall clock', () => {
    const c = clock({ eventTime: true, idleTimeoutMs: 5000 }, 0);
    c.advanceIdle(100_000); // no event time yet: nothing to advance from
    expect(c.committedWatermark(100_000)).toBeNull();
    expect(c.eventStart(T0 + 1000, 100_000)).toBe(T0);
    expect(c.isIdle(104_999)).toBe(false);
    c.advanceIdle(104_999);
    expect(c.watermark(0)).toBe(T0 + 1000);
    expect(c.isIdle(105_000)).toBe(true);
    c.advanceIdle(112_000);
    expect(c.watermark(0)).toBe(T0 + 13_000);
    // A record after the quiet spell goes on from the advanced event time.
    expect(c.eventStart(T0 + 9000, 112_500)).toBeNaN();
    expect(c.isIdle(112_500)).toBe(false);
  });

  it('without --idle-timeout never advances by itself', () => {
    const c = clock({ eventTime: true }, 0);
    c.eventStart(T0, 0);
    c.advanceIdle(10_000_000);
    expect(c.watermark(0)).toBe(T0);
    expect(c.isIdle(10_000_000)).toBe(false);
  });
});
