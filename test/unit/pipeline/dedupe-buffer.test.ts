import { describe, expect, it } from 'vitest';
import { DedupeBuffer } from '../../../src/pipeline/dedupe-buffer.js';

describe('DedupeBuffer', () => {
  it('holds each id of a batch once, counting repeats as duplicates, until the commit clears it', () => {
    const buffer = new DedupeBuffer(true, 5000, 3_600_000);
    buffer.hold('r1', 0, 'a', 1);
    buffer.hold('r2', 5000, 'b', 2);
    buffer.hold('r1', 0, 'a', 1);
    expect(buffer.duplicates).toBe(1);
    expect(buffer.records(100)).toEqual({
      ids: ['r1', 'r2'],
      starts: [0, 5000],
      keys: ['a', 'b'],
      values: [1, 2],
      windowMs: 5000,
      expiresAt: 100 + 3_600_000,
    });
    buffer.clear();
    expect(buffer.duplicates).toBe(0);
    expect(buffer.records(200).ids).toEqual([]);
    // A new batch: an id seen in the last one is the store's to judge.
    buffer.hold('r1', 0, 'a', 1);
    expect(buffer.duplicates).toBe(0);
    expect(buffer.records(200).ids).toEqual(['r1']);
  });

  it('sends no values when the reduction only counts', () => {
    const buffer = new DedupeBuffer(false, 5000, 1000);
    buffer.hold('r1', 0, 'a', 0);
    expect(buffer.records(0).values).toBeNull();
  });
});
