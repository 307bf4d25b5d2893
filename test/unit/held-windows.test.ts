// A worker's own committed counts, held merged in a word-count table: what a finalization starts from.
// How the store uses such a table (HeldWindow, collapseDeltas) is in test/conformance/workers.conformance.ts.
import { describe, expect, it } from 'vitest';
import type { DeltaColumns } from '../../src/model.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import { mergeIntoTotals } from '../../src/reducers/summarize.js';
import { WordCountTable } from '../../src/reducers/word-count-table.js';
import { orderRows } from '../../src/sinks/order.js';

function counts(entries: Record<string, number>): DeltaColumns {
  const table = new PartialTable(false);
  for (const [key, count] of Object.entries(entries)) table.mergePartial(key, count, 0, 0, Infinity, -Infinity);
  return table;
}

describe('WordCountTable totals', () => {
  it('settle() adds the counts to the totals; countTotals() makes them the counts again', () => {
    const table = new WordCountTable(2);
    const feed = (text: string) => {
      const bytes = Buffer.from(text);
      table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    };
    feed('a b a\n');
    expect(table.isSettled()).toBe(false);
    table.settle();
    expect(table.isSettled()).toBe(true);
    feed('c a d e f g h\n'); // new keys after a settle grow the totals too
    table.settle();
    expect(table.rows().every(([, n]) => n === 0)).toBe(true);
    table.countTotals();
    expect(orderRows(table.rows())).toEqual(orderRows([['a', 3], ['b', 1], ['c', 1], ['d', 1], ['e', 1], ['f', 1], ['g', 1], ['h', 1]]));
  });

  it('countTotals() refuses a table with counts not yet settled', () => {
    const table = new WordCountTable();
    const bytes = Buffer.from('x\n');
    table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    expect(() => table.countTotals()).toThrow(/unsettled/);
  });

  it('mergeIntoTotals() merges other deltas onto what the table settled', () => {
    const table = new WordCountTable();
    const bytes = Buffer.from('to be or to be\n');
    table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
    table.settle();
    const merged = mergeIntoTotals(table, [counts({ to: 1, not: 1 })]);
    expect(orderRows(merged.rows())).toEqual(orderRows([['to', 3], ['be', 2], ['or', 1], ['not', 1]]));
    expect(JSON.parse(merged.json!().toString()).length).toBe(4);
  });
});
