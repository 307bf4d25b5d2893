import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ResultRow, WindowResult } from '../../src/model.js';
import { OUTPUT_FORMATS, ResultSink, type OutputFormat, type SinkOptions } from '../../src/sinks/sink.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/;

function collector(): { out: Writable; text: () => string; writes: () => number } {
  const parts: string[] = [];
  const out = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      parts.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });
  return { out, text: () => parts.join(''), writes: () => parts.length };
}

function render(results: readonly WindowResult[], options: Partial<SinkOptions> & { format: OutputFormat }): string {
  const { out, text } = collector();
  const sink = new ResultSink(out, { top: null, color: false, ...options });
  for (const r of results) sink.write(r);
  return text();
}

const T0 = Date.parse('2026-11-26T10:00:00.000Z');

function windowResult(rows: readonly ResultRow[], overrides: Partial<WindowResult> = {}): WindowResult {
  return { job: 'default', start: T0, end: T0 + 5_000, state: 'final', seq: 1, revision: 1, rows, ...overrides };
}

const WORDS = windowResult([
  ['be', 2],
  ['to', 2],
  ['not', 1],
  ['or', 1],
]);
const NEXT = windowResult([['question', 1]], { start: T0 + 5_000, end: T0 + 10_000, seq: 2 });

describe('ResultSink tsv', () => {
  it('writes window_start, window_end (ISO-8601 UTC), key, value per row, no header', () => {
    expect(render([WORDS, NEXT], { format: 'tsv' })).toBe(
      [
        '2026-11-26T10:00:00.000Z\t2026-11-26T10:00:05.000Z\tbe\t2',
        '2026-11-26T10:00:00.000Z\t2026-11-26T10:00:05.000Z\tto\t2',
        '2026-11-26T10:00:00.000Z\t2026-11-26T10:00:05.000Z\tnot\t1',
        '2026-11-26T10:00:00.000Z\t2026-11-26T10:00:05.000Z\tor\t1',
        '2026-11-26T10:00:05.000Z\t2026-11-26T10:00:10.000Z\tquestion\t1',
        '',
      ].join('\n'),
    );
  });

  it('escapes tab, newline, carriage return and backslash in keys so each row stays one line of four fields', () => {
    const text = render([windowResult([['a\tb', 1], ['c\nd', 1], ['e\\f', 1], ['g\rh', 1], ['\\t', 1]])], { format: 'tsv' });
    const lines = text.split('\n').slice(0, -1);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line.split('\t')).toHaveLength(4);
    // The sink orders rows for display; this test is about escaping, so compare the keys as a set.
    expect(lines.map((l) => l.split('\t')[2]).sort()).toEqual(['a\\tb', 'c\\nd', 'e\\\\f', 'g\\rh', '\\\\t'].sort());
  });

  it('leaves other characters as they are, multi-byte included', () => {
    const text = render([windowResult([['café 漢字 😀, "quoted"', 3]])], { format: 'tsv' });
    expect(text.split('\t')[2]).toBe('café 漢字 😀, "quoted"');
  });

  it('writes values in plain decimal', () => {
    const text = render([windowResult([['big', 1e21], ['tiny', 1e-7], ['half', -0.25], ['avg', 123.5]])], { format: 'tsv' });
    // Rows come out in display order (value descending); the point here is the rendering of each value.
    expect(Object.fromEntries(text.split('\n').slice(0, -1).map((l) => [l.split('\t')[2], l.split('\t')[3]]))).toEqual({
      big: '1000000000000000000000',
      tiny: '0.0000001',
      half: '-0.25',
      avg: '123.5',
    });
  });

  it('writes nothing for a window without rows', () => {
    const { out, text, writes } = collector();
    new ResultSink(out, { format: 'tsv', top: null, color: false }).write(windowResult([]));
    expect(text()).toBe('');
    expect(writes()).toBe(0);
  });
});

/** A minimal RFC 4180 reader, to check the csv reads back as written. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  expect(field).toBe('');
  expect(row).toEqual([]);
  return rows;
}

describe('ResultSink window fields in tsv and csv', () => {
  const OPEN = windowResult([['pending', 4]], { state: 'open', seq: null, start: T0 + 5_000, end: T0 + 10_000 });

  it('tsv: seq (watch) and state (query) are trailing columns, so the first four stay the stream commands\' columns', () => {
    const plain = render([WORDS, NEXT], { format: 'tsv' });
    const withSeq = render([WORDS, NEXT], { format: 'tsv', fields: ['seq'] });
    const cut4 = (text: string) => text.split('\n').map((l) => l.split('\t').slice(0, 4).join('\t')).join('\n');
    expect(cut4(withSeq)).toBe(plain);
    expect(withSeq.split('\n').map((l) => l.split('\t')[4])).toEqual(['1', '1', '1', '1', '2', undefined]);
    expect(render([NEXT, OPEN], { format: 'tsv', fields: ['state'] })).toBe(
      '2026-11-26T10:00:05.000Z\t2026-11-26T10:00:10.000Z\tquestion\t1\tfinal\n' +
        '2026-11-26T10:00:05.000Z\t2026-11-26T10:00:10.000Z\tpending\t4\topen\n',
    );
  });

  it('csv: the header names the trailing column', () => {
    expect(render([NEXT], { format: 'csv', fields: ['seq'] })).toBe(
      'window_start,window_end,key,value,seq\n2026-11-26T10:00:05.000Z,2026-11-26T10:00:10.000Z,question,1,2\n',
    );
    expect(render([NEXT, OPEN], { format: 'csv', fields: ['state'] })).toBe(
      'window_start,window_end,key,value,state\n' +
        '2026-11-26T10:00:05.000Z,2026-11-26T10:00:10.000Z,question,1,final\n' +
        '2026-11-26T10:00:05.000Z,2026-11-26T10:00:10.000Z,pending,4,open\n',
    );
  });
});

describe('ResultSink csv', () => {
  it('writes the header once, before the first window, then one row per key', () => {
    const text = render([WORDS, NEXT], { format: 'csv' });
    expect(text).toBe(
      [
        'window_start,window_end,key,value',
        '2026-11-26T10:00:00.000Z,2026-11-26T10:00:05.000Z,be,2',
        '2026-11-26T10:00:00.000Z,2026-11-26T10:00:05.000Z,to,2',
        '2026-11-26T10:00:00.000Z,2026-11-26T10:00:05.000Z,not,1',
        '2026-11-26T10:00:00.000Z,2026-11-26T10:00:05.000Z,or,1',
        '2026-11-26T10:00:05.000Z,2026-11-26T10:00:10.000Z,question,1',
        '',
      ].join('\n'),
    );
  });

  it('quotes keys holding a comma, a quote, a newline or a carriage return, and they read back intact', () => {
    const keys = ['a,b', 'say "hi"', 'two\nlines', 'cr\rhere', 'plain', ' spaced ', 'café;漢字'];
    const text = render([windowResult(keys.map((k) => [k, 1] as const))], { format: 'csv' });
    expect(text).toContain('"a,b"');
    expect(text).toContain('"say ""hi"""');
    expect(text).toContain(',plain,');
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(['window_start', 'window_end', 'key', 'value']);
    // Equal values are shown in key order; this test is about quoting, so compare the keys as a set.
    expect(rows.slice(1).map((r) => r[2]).sort()).toEqual([...keys].sort());
    for (const r of rows) expect(r).toHaveLength(4);
  });
});

describe('ResultSink json', () => {
  it('writes one JSON object per line with job, window_start, window_end, key and value', () => {
    const text = render([WORDS, windowResult([['x', 1.5]], { job: 'other "job"', start: T0 + 5_000, end: T0 + 10_000 })], {
      format: 'json',
    });
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects).toEqual([
      { job: 'default', window_start: '2026-11-26T10:00:00.000Z', window_end: '2026-11-26T10:00:05.000Z', key: 'be', value: 2 },
      { job: 'default', window_start: '2026-11-26T10:00:00.000Z', window_end: '2026-11-26T10:00:05.000Z', key: 'to', value: 2 },
      { job: 'default', window_start: '2026-11-26T10:00:00.000Z', window_end: '2026-11-26T10:00:05.000Z', key: 'not', value: 1 },
      { job: 'default', window_start: '2026-11-26T10:00:00.000Z', window_end: '2026-11-26T10:00:05.000Z', key: 'or', value: 1 },
      { job: 'other "job"', window_start: '2026-11-26T10:00:05.000Z', window_end: '2026-11-26T10:00:10.000Z', key: 'x', value: 1.5 },
    ]);
  });

  it('with the state field (query) gives every row "state": "open" or "final"', () => {
    const open = windowResult([['pending', 4]], { state: 'open', seq: null, start: T0 + 5_000, end: T0 + 10_000 });
    const text = render([NEXT, open], { format: 'json', fields: ['state'] });
    expect(text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { job: 'default', window_start: '2026-11-26T10:00:05.000Z', window_end: '2026-11-26T10:00:10.000Z', key: 'question', value: 1, state: 'final' },
      { job: 'default', window_start: '2026-11-26T10:00:05.000Z', window_end: '2026-11-26T10:00:10.000Z', key: 'pending', value: 4, state: 'open' },
    ]);
  });

  it('with the seq field (watch) gives every row its publication sequence number, as a number', () => {
    const text = render([WORDS, NEXT], { format: 'json', fields: ['seq'] });
    const objects = text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(objects.map((o) => [o.key, o.seq])).toEqual([['be', 1], ['to', 1], ['not', 1], ['or', 1], ['question', 2]]);
  });

  it('without fields (the stream commands) has neither seq nor state', () => {
    const text = render([WORDS, windowResult([['x', 1]], { state: 'open', seq: null })], { format: 'json' });
    expect(text).not.toMatch(/"state"|"seq"/);
  });

  it('keeps awkward keys valid JSON and intact', () => {
    const keys = ['quote " and \\ backslash', 'tab\tnewline\n', 'nul-free control \u0001', 'café 漢字 😀', '\u2028\u2029'];
    const text = render([windowResult(keys.map((k) => [k, 1] as const))], { format: 'json' });
    const lines = text.split('\n').slice(0, -1);
    expect(lines).toHaveLength(keys.length);
    // Equal values are shown in key order; this test is about escaping, so compare the keys as a set.
    expect(lines.map((l) => (JSON.parse(l) as { key: string }).key).sort()).toEqual([...keys].sort());
  });

  it('writes big and tiny values as JSON numbers that parse back', () => {
    const text = render([windowResult([['big', 1e21], ['tiny', 1e-7]])], { format: 'json' });
    const values = text.trim().split('\n').map((l) => (JSON.parse(l) as { value: number }).value);
    expect(values).toEqual([1e21, 1e-7]);
    expect(text).not.toMatch(/\de[+-]?\d/i);
  });
});

describe('ResultSink text and table', () => {
  it('text: a heading per window, then value and key per row in order', () => {
    const text = render([WORDS], { format: 'text' });
    expect(text).toBe(
      ['2026-11-26T10:00:00.000Z .. 2026-11-26T10:00:05.000Z', '  2  be', '  2  to', '  1  not', '  1  or', ''].join('\n'),
    );
  });

  it('text: right-aligns values and, with the state field, marks open windows', () => {
    const text = render([windowResult([['a', 1000], ['b', 5]], { state: 'open', seq: null })], { format: 'text', fields: ['state'] });
    expect(text.split('\n')).toEqual([
      '2026-11-26T10:00:00.000Z .. 2026-11-26T10:00:05.000Z (open)',
      '  1000  a',
      '     5  b',
      '',
    ]);
  });

  it('text and table show control characters in keys escaped, never raw', () => {
    for (const format of ['text', 'table'] as const) {
      const text = render([windowResult([['bell\u0007esc\u001b[31m', 1]])], { format });
      expect(text).toContain('bell\\u0007esc\\u001b[31m');
      expect(text).not.toContain('\u0007');
      expect(text).not.toContain('\u001b');
    }
  });

  it('table: a heading per window and a key/value table in order', () => {
    const text = render([WORDS, NEXT], { format: 'table' });
    const lines = text.split('\n');
    expect(lines[0]).toBe('2026-11-26T10:00:00.000Z .. 2026-11-26T10:00:05.000Z');
    const cells = lines
      .filter((l) => l.includes('│'))
      .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
    expect(cells).toEqual([
      ['key', 'value'],
      ['be', '2'],
      ['to', '2'],
      ['not', '1'],
      ['or', '1'],
      ['key', 'value'],
      ['question', '1'],
    ]);
    expect(text).toContain('2026-11-26T10:00:05.000Z .. 2026-11-26T10:00:10.000Z');
  });

  it('table: with the state field, marks open and final windows in the heading', () => {
    const text = render([windowResult([['a', 1]], { state: 'open', seq: null })], { format: 'table', fields: ['state'] });
    expect(text.split('\n')[0]).toBe('2026-11-26T10:00:00.000Z .. 2026-11-26T10:00:05.000Z (open)');
    expect(render([WORDS], { format: 'table', fields: ['state'] }).split('\n')[0]).toBe(
      '2026-11-26T10:00:00.000Z .. 2026-11-26T10:00:05.000Z (final)',
    );
  });

  it.each(['text', 'table'] as const)('%s: with the seq field, shows the sequence number in the heading', (format) => {
    const headings = render([WORDS, NEXT], { format, fields: ['seq'] })
      .split('\n')
      .filter((l) => l.includes(' .. '));
    expect(headings).toEqual([
      '2026-11-26T10:00:00.000Z .. 2026-11-26T10:00:05.000Z  seq 1',
      '2026-11-26T10:00:05.000Z .. 2026-11-26T10:00:10.000Z  seq 2',
    ]);
  });
});

describe('ResultSink --top and colour', () => {
  it.each([...OUTPUT_FORMATS])('%s: top N prints only the N highest rows of each window', (format) => {
    const top2 = render([WORDS, NEXT], { format, top: 2 });
    const all = render([WORDS, NEXT], { format, top: null });
    expect(top2).toContain('be');
    expect(top2).toContain('to');
    expect(top2).not.toMatch(/\bnot\b/);
    expect(top2).not.toMatch(/\bor\b/);
    expect(top2).toContain('question');
    expect(all).toMatch(/\bnot\b/);
    // More than the window holds prints the whole window.
    expect(render([WORDS], { format, top: 10 })).toBe(render([WORDS], { format, top: null }));
  });

  it('orders rows given in any order by value descending, then key ascending (UTF-16 code units), and applies top N after ordering', () => {
    // Deliberately scrambled, as the store hands them over; ties include case and non-ASCII keys.
    const rows: ResultRow[] = [
      ['c', 1],
      ['é', 3],
      ['a', 1],
      ['d', 5],
      ['b', 3],
      ['B', 3],
      ['e', 2],
    ];
    const scrambled = windowResult(rows);
    const bigints = windowResult(
      [
        ['small', 1],
        ['huge', 2n ** 60n],
        ['neg', -(2n ** 60n)],
        ['mid', 2n],
        ['two', 2],
      ],
      { start: T0 + 5_000, end: T0 + 10_000, seq: 2 },
    );
    const keysOf = (text: string): string[][] => {
      const byWindow = new Map<string, string[]>();
      for (const line of text.split('\n').slice(0, -1)) {
        const [start, , key] = line.split('\t');
        byWindow.set(start!, [...(byWindow.get(start!) ?? []), key!]);
      }
      return [...byWindow.values()];
    };

    const all = render([scrambled, bigints], { format: 'tsv' });
    expect(keysOf(all)).toEqual([
      ['d', 'B', 'b', 'é', 'e', 'a', 'c'],
      // A bigint and a number of equal value tie and fall back to key order.
      ['huge', 'mid', 'two', 'small', 'neg'],
    ]);
    expect(all.split('\n')[0]).toBe('2026-11-26T10:00:00.000Z\t2026-11-26T10:00:05.000Z\td\t5');

    // top N is the N highest after ordering, not the first N given.
    expect(keysOf(render([scrambled, bigints], { format: 'tsv', top: 3 }))).toEqual([
      ['d', 'B', 'b'],
      ['huge', 'mid', 'two'],
    ]);
    expect(render([scrambled], { format: 'text', top: 2 }).split('\n')).toEqual([
      '2026-11-26T10:00:00.000Z .. 2026-11-26T10:00:05.000Z',
      '  5  d',
      '  3  B',
      '',
    ]);
    // Ordering for display leaves the caller's rows as they were.
    expect(scrambled.rows).toEqual(rows);
  });

  it.each([...OUTPUT_FORMATS])('%s with color: false writes no ANSI escapes', (format) => {
    const text = render([WORDS, windowResult([['x', 1]], { state: 'open', seq: null })], { format, color: false });
    expect(text).not.toMatch(ANSI);
  });

  it.each(['text', 'table'] as const)('%s with color: true writes ANSI escapes, and the same text without them', (format) => {
    const coloured = render([WORDS], { format, color: true });
    const plain = render([WORDS], { format, color: false });
    expect(coloured).toMatch(ANSI);
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
  });

  it.each(['tsv', 'csv', 'json'] as const)('%s stays machine-readable: no ANSI escapes even with color: true', (format) => {
    expect(render([WORDS], { format, color: true })).not.toMatch(ANSI);
  });
});

describe('ResultSink: exact sums beyond 2^53 (bigint values)', () => {
  const HUGE = windowResult([
    ['big', 2n ** 53n + 1n],
    ['neg', -(2n ** 64n)],
    ['avg', 0.000000125],
  ]);

  it('writes bigint values as plain integers in tsv and csv', () => {
    // Display order, value descending: big, avg, neg.
    const tsv = render([HUGE], { format: 'tsv' }).split('\n');
    expect(tsv[0]!.split('\t').slice(2)).toEqual(['big', '9007199254740993']);
    expect(tsv[1]!.split('\t').slice(2)).toEqual(['avg', '0.000000125']);
    expect(tsv[2]!.split('\t').slice(2)).toEqual(['neg', '-18446744073709551616']);
    const csv = render([HUGE], { format: 'csv' }).split('\n');
    expect(csv[1]).toBe('2026-11-26T10:00:00.000Z,2026-11-26T10:00:05.000Z,big,9007199254740993');
  });

  it('writes bigint values as JSON numbers with every digit (not strings, not rounded)', () => {
    const lines = render([HUGE], { format: 'json' }).split('\n').slice(0, -1);
    // Display order, value descending: big, avg, neg.
    expect(lines[0]).toContain('"key":"big","value":9007199254740993}');
    expect(lines[2]).toContain('"key":"neg","value":-18446744073709551616}');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('writes bigint values in text and table output', () => {
    expect(render([HUGE], { format: 'text' })).toContain('9007199254740993  big');
    expect(render([HUGE], { format: 'table' })).toContain('-18446744073709551616');
  });
});
