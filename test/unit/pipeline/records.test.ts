import { describe, expect, it } from 'vitest';
import { RunCounters } from '../../../src/pipeline/counters.js';
import { DedupeBuffer } from '../../../src/pipeline/dedupe-buffer.js';
import { OpenWindows } from '../../../src/pipeline/open-windows.js';
import { framerFor, TextRecords, TextWords, WordBytes } from '../../../src/pipeline/records.js';
import type { SourceCursor } from '../../../src/pipeline/source-cursors.js';
import { WindowClock } from '../../../src/pipeline/window-clock.js';
import type { RejectReason } from '../../../src/records/framer.js';
import { makeRecordReader } from '../../../src/records/record-reader.js';
import { parseFieldSpec } from '../../../src/records/specs.js';
import { PartialTable } from '../../../src/reducers/partial-table.js';
import { WordCountTable } from '../../../src/reducers/word-count-table.js';
import { orderRows } from '../../../src/sinks/order.js';

const W = 10_000;
const T0 = 1_764_151_200_000;

function cursor(): SourceCursor {
  return { kind: 'file', label: 'in.txt', identity: null, network: null, fromOffset: 0, toOffset: 0, lines: 0, maxEventTime: null, records: 0, bytes: 0 };
}

const wall = (at: number) => ({ now: () => at });

/** Each open window's rows, from the deltas a commit would send. */
function rowsOf(windows: OpenWindows<PartialTable> | OpenWindows<WordCountTable>) {
  return windows.deltas().map((d) => [d.start, orderRows(d.delta.keys.map((k, i) => [k, d.delta.counts[i]!] as const))]);
}

describe('WordBytes', () => {
  it('counts words and lines of each chunk into the window of the moment it is read', () => {
    const counters = new RunCounters();
    const clock = new WindowClock({ windowMs: W, eventTime: false, latenessMs: 0, idleTimeoutMs: null, retryMs: 1000 }, T0);
    const windows = new OpenWindows(W, () => new WordCountTable(), () => undefined);
    const c = cursor();
    const framer = framerFor(new WordBytes(windows, clock, wall(T0 + 5), counters), c, counters, undefined, 1024, 0);
    framer.push(Buffer.from('to be or\nnot to be\n'));
    expect(counters.records).toBe(6);
    expect(c.records).toBe(6);
    expect(c.lines).toBe(2);
    expect(rowsOf(windows)).toEqual([[T0, [['be', 2], ['to', 2], ['not', 1], ['or', 1]]]]);
  });
});

describe('TextWords', () => {
  it('folds the text with --ignore-case before counting its words', () => {
    const counters = new RunCounters();
    const clock = new WindowClock({ windowMs: W, eventTime: false, latenessMs: 0, idleTimeoutMs: null, retryMs: 1000 }, T0);
    const windows = new OpenWindows(W, () => new PartialTable(false), () => undefined);
    const framer = framerFor(new TextWords(true, windows, clock, wall(T0), counters), cursor(), counters, undefined, 1024, 0);
    framer.push(Buffer.from('To be\nTO BE\n'));
    expect(rowsOf(windows)).toEqual([[T0, [['be', 2], ['to', 2]]]]);
  });
});

describe('TextRecords', () => {
  function setup(options: { eventTime?: boolean; lateness?: number; dedupe?: boolean; ignoreCase?: boolean } = {}) {
    const counters = new RunCounters();
    const eventTime = options.eventTime === true;
    const clock = new WindowClock(
      { windowMs: W, eventTime, latenessMs: options.lateness ?? 0, idleTimeoutMs: null, retryMs: 1000 },
      T0,
    );
    const windows = new OpenWindows(W, () => new PartialTable(false), () => undefined);
    const late: string[] = [];
    const rejects: Array<[RejectReason, string, number, string]> = [];
    const reject = (reason: RejectReason, source: string, offset: number, line: Buffer | string) =>
      rejects.push([reason, source, offset, String(line)]);
    const reader = makeRecordReader({
      key: parseFieldSpec('field=2', '--key'),
      delimiter: null,
      value: null,
      time: eventTime ? parseFieldSpec('field=1', '--time') : null,
      timeFormat: 'epoch-ms',
      id: options.dedupe === true ? parseFieldSpec('field=3', '--dedupe') : null,
    });
    const dedupe = options.dedupe === true ? new DedupeBuffer(false, W, 1000) : null;
    const sink = new TextRecords(
      {
        reader,
        ignoreCase: options.ignoreCase === true,
        add: (table, record) => table.increment(record.key),
        late: (line) => late.push(line),
        reject,
      },
      windows,
      clock,
      wall(T0 + 3),
      counters,
      dedupe,
    );
    const c = cursor();
    const framer = framerFor(sink, c, counters, reject, 1024, 0);
    return { counters, windows, late, rejects, c, framer, dedupe, clock };
  }

  it('reads one record per line; blank lines are skipped, bad ones counted and written out with their offset', () => {
    const { counters, windows, rejects, c, framer } = setup({ ignoreCase: true });
    framer.push(Buffer.from('x A\n\n   \nonly\nx b\r\ny A\n'));
    expect(rowsOf(windows)).toEqual([[T0, [['a', 2], ['b', 1]]]]);
    expect(counters.records).toBe(3);
    expect(c.records).toBe(3);
    expect(counters.rejectedBy).toEqual(new Map([['missing field', 1]]));
    expect(rejects).toEqual([['missing field', 'in.txt', 9, 'only']]);
    expect(c.lines).toBe(6);
  });

  it('in event time places each record by its own time; late ones go to --late-output and count as late', () => {
    const { counters, windows, late, c, framer } = setup({ eventTime: true, lateness: 2000 });
    const at = (ms: number, key: string) => `${T0 + ms} ${key}`;
    framer.push(Buffer.from([at(1000, 'a'), at(11_000, 'b'), at(8000, 'c'), at(12_000, 'd'), at(9000, 'e')].join('\n') + '\n'));
    expect(rowsOf(windows)).toEqual([
      [T0, [['a', 1], ['c', 1]]],
      [T0 + W, [['b', 1], ['d', 1]]],
    ]);
    expect(late).toEqual([at(9000, 'e')]);
    expect([counters.records, counters.late, c.records]).toEqual([4, 1, 4]);
    expect(c.maxEventTime).toBe(T0 + 12_000);
  });

  it('with --dedupe holds records for the store instead of counting them, a repeat within the batch a duplicate', () => {
    const { counters, windows, framer, dedupe } = setup({ dedupe: true });
    framer.push(Buffer.from('x a r1\nx b r2\nx a r1\n'));
    expect(rowsOf(windows)).toEqual([]);
    expect(counters.records).toBe(3);
    expect(dedupe!.duplicates).toBe(1);
    expect(dedupe!.records(0)).toMatchObject({ ids: ['r1', 'r2'], starts: [T0, T0], keys: ['a', 'b'] });
  });
});
