import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { formatDuration, parseDuration } from '../../src/windows/duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5000],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['2h0m5s', 7_205_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text, '--window')).toBe(ms);
  });

  it.each(['0s', '0ms', '-5s', '5', 's', '', '5x', '5 s', '1h-30m', '0.5ms', 'abc'])('refuses %j naming the option', (text) => {
    expect(() => parseDuration(text, '--window')).toThrow(UsageError);
    expect(() => parseDuration(text, '--window')).toThrow(/--window/);
  });

  it('formats back in the same grammar', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(250)).toBe('250ms');
    expect(parseDuration(formatDuration(90_061_001), '--x')).toBe(90_061_001);
  });
});
