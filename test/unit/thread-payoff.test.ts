import { describe, expect, it } from 'vitest';
import { ThreadPayoff } from '../../src/threads/payoff.js';

describe('ThreadPayoff', () => {
  it('pays until judged: too few records tell nothing', () => {
    const payoff = new ThreadPayoff();
    payoff.counted(400_000, 400_000);
    expect(payoff.paysOff).toBe(true);
  });

  it('keeps threads when they insert few keys per record (words: 50k or 1M distinct)', () => {
    const payoff = new ThreadPayoff();
    payoff.counted(300_000, 90_000);
    payoff.counted(300_000, 85_000);
    expect(payoff.paysOff).toBe(true);
  });

  it('stops threads for good when nearly every record brings a new key, counting every thread', () => {
    const payoff = new ThreadPayoff();
    payoff.counted(250_000, 250_000);
    payoff.counted(250_000, 250_000);
    expect(payoff.paysOff).toBe(false);
    payoff.counted(10_000_000, 10);
    expect(payoff.paysOff).toBe(false);
  });

  it('counts keys inserted again after each commit emptied a table: inserts, not keys held, are the cost', () => {
    const payoff = new ThreadPayoff();
    // 100 commits of 5k records, each inserting 4k keys anew into an emptied table: 0.8 per record.
    for (let commit = 0; commit < 100; commit++) payoff.counted(5_000, 4_000);
    expect(payoff.paysOff).toBe(false);
  });
});
