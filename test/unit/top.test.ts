import { describe, expect, it } from 'vitest';
import { RateHistory } from '../../src/cli/top/rates.js';
import { decodeKeys } from '../../src/cli/top/terminal.js';
import { describeDefinition, renderTop, sparkline, TOP_KEYS_HELP, type TopJob, type TopView } from '../../src/sinks/top-screen.js';

const T0 = Date.parse('2026-11-30T12:00:03Z');

const job: TopJob = {
  name: 'words',
  definition: { reduction: 'count', window: '5s', key: 'word', delimiter: 'none', 'ignore-case': 'false', time: 'processing' },
  records: 1234567,
  rejected: 2,
  late: 0,
  duplicates: 0,
  rate: 1500.4,
  history: [0, 1000, 2000],
  workers: [
    { id: 'abcdef0123456789', host: 'web1', pid: 4242, state: 'alive', heartbeatAt: T0 - 400, watermark: T0 - 500 },
    { id: '99999999aaaa', host: 'web2', pid: 7, state: 'finished', heartbeatAt: T0 - 60_000, watermark: T0 - 60_000 },
  ],
  windows: [{ start: T0 - 3000, end: T0 + 2000, state: 'open', revision: null, commits: 3, keyRows: 40 }],
  keysOf: { start: T0 - 3000, end: T0 + 2000, state: 'open', revision: null, commits: 3, keyRows: 40 },
  keys: Array.from({ length: 30 }, (_, i) => [`key${String(i).padStart(2, '0')}`, 100 - i] as const),
  publications: [{ seq: 7, start: T0 - 8000, end: T0 - 3000, revision: 1, final: true, rowCount: 12, publishedAt: T0 - 2500 }],
};

const view = (over: Partial<TopView> = {}): TopView => ({
  database: '/data/state.db',
  now: T0,
  intervalMs: 1000,
  paused: false,
  problem: null,
  jobs: ['words', 'other'],
  selected: 0,
  job,
  scroll: 0,
  ...over,
});

describe('renderTop', () => {
  it('fills the screen exactly: every line within the width, the keys in the rows left, the footer last', () => {
    const lines = renderTop(view(), 100, 30, false);
    expect(lines).toHaveLength(30);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    const text = lines.join('\n');
    expect(text).toContain('job 1/2  words  count window=5s key=word time=processing');
    expect(text).toMatch(/records 1,234,567 {2}1,500\/s {2}rejected 2 {2}late 0 {2}duplicates 0 {2}\s*▁▅█/);
    expect(text).toMatch(/abcdef01 +web1 +4242 +alive +0\.4s ago +12:00:02\.500 +0\.5s/);
    expect(text).toMatch(/99999999 +web2 +7 +finished +1m00s ago +11:59:03\.000 +-/);
    expect(text).toContain('12:00:00..12:00:05  open  ends in 2.0s  commits 3  key rows 40');
    expect(text).toMatch(/7 +11:59:55\.\.12:00:00 +1 +final +12 +2\.5s ago/);
    expect(lines.at(-1)).toBe(TOP_KEYS_HELP);
    const keyLines = lines.filter((l) => /^ {2}\d+ +key\d\d$/.test(l));
    expect(keyLines[0]).toMatch(/100 +key00/);
    // Header 1, job 2, workers 4, windows 2, keys heading and columns 2, publications 3, footer 1: 15 fixed rows.
    expect(keyLines).toHaveLength(15);
    expect(text).toContain('rows 1-15 of 30');
  });

  it('scrolls the keys, never past the last screenful', () => {
    expect(renderTop(view({ scroll: 3 }), 100, 30, false).join('\n')).toContain('rows 4-18 of 30');
    expect(renderTop(view({ scroll: 29 }), 100, 30, false).join('\n')).toContain('rows 16-30 of 30');
  });

  it('redraws to any size: a small screen keeps the footer on its last row', () => {
    const lines = renderTop(view({ paused: true }), 40, 8, false);
    expect(lines).toHaveLength(8);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(lines.at(-1)).toBe('PAUSED (p resumes)  q quit  j/J/Tab job ');
  });

  it('colours only when asked, and shows a read problem on the footer line', () => {
    expect(renderTop(view(), 100, 30, false).join('')).not.toContain('\x1b[');
    const coloured = renderTop(view({ problem: 'cannot read x: gone; trying again' }), 100, 30, true);
    expect(coloured.join('')).toContain('\x1b[');
    expect(coloured.at(-1)).toContain('cannot read x: gone; trying again');
  });

  it('says what to do when the database holds no job yet', () => {
    expect(renderTop(view({ jobs: [], job: null }), 100, 10, false).join('\n')).toContain('no job in this database yet');
  });

  it('shows control characters of a key as ?, so a key never moves the cursor', () => {
    const lines = renderTop(view({ job: { ...job, keys: [['a\x1b[2Jb\r', 1]] } }), 100, 30, false);
    expect(lines.join('\n')).toContain('a?[2Jb?');
  });
});

describe('describeDefinition and sparkline', () => {
  it('leaves out what is not set', () => {
    expect(describeDefinition({ reduction: 'sum', window: '1m', key: 'field=1', value: 'field=2', dedupe: 'none', 'ignore-case': 'true' })).toBe(
      'sum window=1m key=field=1 value=field=2 ignore-case=true',
    );
  });

  it('scales to the largest point, blanks before the history starts', () => {
    expect(sparkline([0, 4, 8], 5)).toBe('  ▁▅█');
    expect(sparkline([0, 0], 3)).toBe(' ▁▁');
  });
});

describe('RateHistory', () => {
  it('derives records/s from successive reads of the committed counter', () => {
    const rates = new RateHistory(5_000, 60_000);
    expect(rates.now()).toBeNull();
    rates.add(0, 100);
    expect(rates.now()).toBeNull();
    rates.add(1000, 300);
    expect(rates.now()).toBe(200);
    rates.add(2000, 300); // no commit between these two reads
    rates.add(3000, 700);
    expect(rates.now()).toBe(200);
    expect(rates.history()).toEqual([200, 0, 400]);
  });

  it('keeps about a minute, and starts again when the counter goes back (a restored snapshot)', () => {
    const rates = new RateHistory(5_000, 60_000);
    for (let s = 0; s <= 120; s++) rates.add(s * 1000, s * 10);
    expect(rates.history().length).toBeLessThanOrEqual(61);
    rates.add(121_000, 5);
    expect(rates.now()).toBeNull();
    expect(rates.history()).toEqual([]);
  });
});

describe('decodeKeys', () => {
  it('reads keys and escape sequences, several in one read, and skips unknown ones', () => {
    expect(decodeKeys('q')).toEqual(['quit']);
    expect(decodeKeys('\x03')).toEqual(['quit']);
    expect(decodeKeys('jJ\t\x1b[Z')).toEqual(['next-job', 'previous-job', 'next-job', 'previous-job']);
    expect(decodeKeys('\x1b[A\x1b[B\x1bOA\x1b[5~\x1b[6~p')).toEqual(['up', 'down', 'up', 'page-up', 'page-down', 'pause']);
    expect(decodeKeys('\x1b[15~x\x1b[1;5Cq')).toEqual(['quit']);
  });
});
