import { describe, expect, it } from 'vitest';
import { randomId } from '../../src/pipeline/random-id.js';

describe('randomId', () => {
  it('is laid out as a version 4 UUID', () => {
    for (let i = 0; i < 1000; i++) expect(randomId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('does not repeat over 100k draws, and every hex digit outside the fixed ones varies', () => {
    const seen = new Set<string>();
    const digits = new Map<number, Set<string>>();
    for (let i = 0; i < 100_000; i++) {
      const id = randomId();
      seen.add(id);
      [...id].forEach((c, at) => (digits.get(at) ?? digits.set(at, new Set()).get(at)!).add(c));
    }
    expect(seen.size).toBe(100_000);
    for (const [at, values] of digits) {
      if ([8, 13, 18, 23].includes(at)) expect(values).toEqual(new Set(['-']));
      else if (at === 14) expect(values).toEqual(new Set(['4']));
      else if (at === 19) expect(values).toEqual(new Set(['8', '9', 'a', 'b']));
      else expect(values.size).toBe(16);
    }
  });
});
