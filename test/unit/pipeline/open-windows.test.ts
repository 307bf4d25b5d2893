import { describe, expect, it } from 'vitest';
import { OpenWindows } from '../../../src/pipeline/open-windows.js';
import { PartialTable } from '../../../src/reducers/partial-table.js';
import { WordCountTable } from '../../../src/reducers/word-count-table.js';
import { orderRows } from '../../../src/sinks/order.js';

const W = 1000;

function words(table: WordCountTable, text: string): void {
  const bytes = Buffer.from(text);
  table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
}

function wordWindows() {
  const opened: number[] = [];
  const windows = new OpenWindows(W, () => new WordCountTable(), (start) => opened.push(start));
  return { windows, opened };
}

describe('OpenWindows', () => {
  it('makes each window its table once, and says when a window opens', () => {
    const { windows, opened } = wordWindows();
    const a = windows.at(0);
    expect(windows.at(0) === a).toBe(true);
    const b = windows.at(W);
    expect(b === a).toBe(false);
    expect(windows.at(0) === a).toBe(true);
    expect(opened).toEqual([0, W]);
  });

  it('sends each window only what moved since the last commit; word-count tables stay and remember their delta rows', () => {
    const { windows } = wordWindows();
    words(windows.at(0), 'a b a\n');
    words(windows.at(W), 'c\n');
    let deltas = windows.deltas();
    expect(deltas.map((d) => [d.start, d.end, d.delta.size])).toEqual([
      [0, W, 2],
      [W, 2 * W, 1],
    ]);
    windows.committed(deltas, new Map([[0, 11], [W, 12]]), true);
    expect(windows.deltas()).toEqual([]);
    words(windows.at(0), 'a\n');
    deltas = windows.deltas();
    expect(deltas.map((d) => [d.start, [...d.delta.keys]])).toEqual([[0, ['a']]]);
    windows.committed(deltas, new Map([[0, 13]]), true);
    const held = windows.held('me');
    expect(held.map((h) => [h.workerId, h.start, h.deltaIds])).toEqual([
      ['me', 0, [11, 13]],
      ['me', W, [12]],
    ]);
    held[0]!.totals.countTotals();
    expect(orderRows(held[0]!.totals.rows())).toEqual([['a', 3], ['b', 1]]);
  });

  it('holds back a window with counts not yet committed, and any after a rejoin or a --dedupe commit', () => {
    const { windows } = wordWindows();
    words(windows.at(0), 'a\n');
    words(windows.at(W), 'b\n');
    words(windows.at(2 * W), 'c\n');
    windows.committed(windows.deltas(), new Map([[0, 1], [W, 2], [2 * W, 3]]), true);
    words(windows.at(0), 'a\n'); // uncommitted
    expect(windows.held('me').map((h) => h.start)).toEqual([W, 2 * W]);
    windows.forgetOwnRows();
    expect(windows.held('me')).toEqual([]);

    const other = wordWindows().windows;
    words(other.at(0), 'a\n');
    other.committed(other.deltas(), new Map([[0, 1]]), false);
    expect(other.held('me')).toEqual([]);
  });

  it('drops partial tables after their commit: the store holds all they had', () => {
    const windows = new OpenWindows(W, () => new PartialTable(true), () => undefined);
    windows.at(0).addValue('k', 2);
    windows.at(W).addValue('k', 3);
    const deltas = windows.deltas();
    expect(deltas.map((d) => [d.start, d.delta.size, d.delta.sums?.[0]])).toEqual([
      [0, 1, 2],
      [W, 1, 3],
    ]);
    windows.committed(deltas, new Map([[0, 1], [W, 2]]), true);
    expect(windows.deltas()).toEqual([]);
    expect(windows.held('me')).toEqual([]);
    // A new table for the same window after that.
    windows.at(0).addValue('k', 5);
    expect(windows.deltas().map((d) => [d.start, d.delta.sums?.[0]])).toEqual([[0, 5]]);
  });

  it('drops the windows that end by a time, and the ones a finalization used', () => {
    const { windows } = wordWindows();
    for (const start of [0, W, 2 * W]) words(windows.at(start), 'x\n');
    windows.dropEndingBy(2 * W);
    expect(windows.deltas().map((d) => d.start)).toEqual([2 * W]);
    windows.drop(2 * W);
    expect(windows.deltas()).toEqual([]);
  });

  it('at the end, sums a window committed in several deltas into one, and empties the set', () => {
    const { windows } = wordWindows();
    words(windows.at(0), 'a b\n');
    words(windows.at(W), 'c\n');
    windows.committed(windows.deltas(), new Map([[0, 1], [W, 2]]), true);
    words(windows.at(0), 'a\n');
    windows.committed(windows.deltas(), new Map([[0, 3]]), true);
    const closed = [...windows.closeAll()];
    // One delta of window W: nothing to collapse.
    expect(closed.map((c) => [c.window.start, c.replaces])).toEqual([[0, [1, 3]]]);
    const delta = closed[0]!.window.delta;
    expect(orderRows(delta.keys.map((k, i) => [k, delta.counts[i]!] as const))).toEqual([['a', 2], ['b', 1]]);
    expect(windows.deltas()).toEqual([]);
    expect(windows.held('me')).toEqual([]);
  });
});
