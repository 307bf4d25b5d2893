import { describe, expect, it } from 'vitest';
import { ThreadPayoff } from '../../src/threads/payoff.js';

describe('ThreadPayoff', () => {
  it('pays until judged: too few records tell nothing', () => {
    const payoff = new ThreadPayoff();
    payoff.counted(0, 400_000, 400_000);
    expect(payoff.paysOff).toBe(true);
  });

  it('keeps threads when their tables hold few keys per record (words: 50k or 1M distinct)', () => {
    const payoff = new ThreadPayoff();
    payoff.counted(0, 300_000, 90_000);
    payoff.counted(1, 300_000, 85_000);
    expect(payoff.paysOff).toBe(true);
  });

  it('stops threads for good when nearly every record brings a new key, counting every thread', () => {
    const payoff = new ThreadPayoff();
    payoff.counted(0, 250_000, 250_000);
    payoff.counted(1, 250_000, 250_000);
    expect(payoff.paysOff).toBe(false);
    payoff.counted(0, 10_000_000, 10);
    expect(payoff.paysOff).toBe(false);
  });
});
