import { afterEach, describe, expect, it, vi } from 'vitest';
import { clockStartingAt, systemClock, windowStartOf } from '../../src/windows/tumbling.js';

const MS = 1;
const SECOND = 1000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

describe('windowStartOf: epoch-aligned, half-open tumbling windows', () => {
  it.each([
    // [time, size, expected start]
    [0, 5 * SECOND, 0],
    [1, 5 * SECOND, 0],
    [4_999, 5 * SECOND, 0],
    [5_000, 5 * SECOND, 5_000],
    [5_001, 5 * SECOND, 5_000],
    [1_764_151_203_456, 5 * SECOND, 1_764_151_200_000],
    [1_764_151_203_456, 250 * MS, 1_764_151_203_250],
    [1_764_151_203_250, 250 * MS, 1_764_151_203_250],
    [1_764_151_203_249, 250 * MS, 1_764_151_203_000],
    [1_764_151_203_456, HOUR, 1_764_151_200_000],
    [1_764_151_203_456, DAY, 1_764_115_200_000],
  ])('t=%i, size=%i starts at %i', (time, size, start) => {
    expect(windowStartOf(time, size)).toBe(start);
  });

  it('aligns to the Unix epoch in UTC: a 1d window starts at midnight UTC and a 1h window on the hour', () => {
    const t = Date.parse('2026-11-26T10:17:42.123Z');
    expect(new Date(windowStartOf(t, DAY)).toISOString()).toBe('2026-11-26T00:00:00.000Z');
    expect(new Date(windowStartOf(t, HOUR)).toISOString()).toBe('2026-11-26T10:00:00.000Z');
    expect(new Date(windowStartOf(t, 5 * SECOND)).toISOString()).toBe('2026-11-26T10:17:40.000Z');
    expect(new Date(windowStartOf(t, 250)).toISOString()).toBe('2026-11-26T10:17:42.000Z');
  });

  it.each([250 * MS, 5 * SECOND, HOUR, DAY, 90 * 60 * SECOND, 7])(
    'with size %i: t = start is inside [start, end), t = end belongs to the next window',
    (size) => {
      for (const k of [-3, -1, 0, 1, 2, 20_000]) {
        const start = k * size;
        const end = start + size;
        expect(windowStartOf(start, size)).toBe(start);
        expect(windowStartOf(end - 1, size)).toBe(start);
        expect(windowStartOf(end, size)).toBe(end);
        expect(windowStartOf(start - 1, size)).toBe(start - size);
      }
    },
  );

  it('every time lies inside its window: start <= t < start + size, start a multiple of size', () => {
    for (const size of [250, 5_000, HOUR, DAY]) {
      for (let i = 0; i < 2_000; i++) {
        const t = Math.floor((i * 7_919_113) % 3e12) - 1.5e12;
        const start = windowStartOf(t, size);
        expect(start).toBeLessThanOrEqual(t);
        expect(t).toBeLessThan(start + size);
        expect(start % size === 0).toBe(true);
      }
    }
  });

  it.each([
    [-1, 5 * SECOND, -5_000],
    [-4_999, 5 * SECOND, -5_000],
    [-5_000, 5 * SECOND, -5_000],
    [-5_001, 5 * SECOND, -10_000],
    [-1, DAY, -DAY],
    [-1, 250, -250],
    [-250, 250, -250],
  ])('times before 1970 align downwards: t=%i, size=%i starts at %i', (time, size, start) => {
    expect(windowStartOf(time, size)).toBe(start);
  });

  it('never returns negative zero', () => {
    expect(Object.is(windowStartOf(0, 5_000), 0)).toBe(true);
    expect(Object.is(windowStartOf(-5_000, 5_000), -5_000)).toBe(true);
  });
});

describe('clockStartingAt', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads the given start now and then advances in real time', () => {
    vi.useFakeTimers();
    vi.setSystemTime(1_000_000);
    const clock = clockStartingAt(5_000);
    expect(clock.now()).toBe(5_000);
    vi.advanceTimersByTime(250);
    expect(clock.now()).toBe(5_250);
    vi.setSystemTime(1_010_000);
    expect(clock.now()).toBe(15_000);
  });

  it('can start in the past or the future of the system clock', () => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.parse('2026-11-26T10:00:00.000Z'));
    const past = clockStartingAt(0);
    const future = clockStartingAt(Date.parse('2030-01-01T00:00:00.000Z'));
    vi.advanceTimersByTime(1_000);
    expect(past.now()).toBe(1_000);
    expect(future.now()).toBe(Date.parse('2030-01-01T00:00:01.000Z'));
  });

  it('with the real clock: starts at the given time and moves with the system clock', async () => {
    const clock = clockStartingAt(42_000);
    const systemBefore = systemClock.now();
    const first = clock.now();
    expect(first).toBeGreaterThanOrEqual(42_000);
    expect(first).toBeLessThan(42_000 + 1_000);
    await new Promise((r) => setTimeout(r, 30));
    const second = clock.now();
    expect(second - first).toBeGreaterThanOrEqual(25);
    // The offset to the system clock stays fixed.
    expect(Math.abs(clock.now() - systemClock.now() - (42_000 - systemBefore))).toBeLessThanOrEqual(5);
  });
});
