import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseInstant, parseOutputOptions, parseStreamOptions, type RawStreamOptions, type Terminal } from '../../src/cli/options.js';
import { UsageError } from '../../src/errors.js';
import type { ReductionName } from '../../src/reducers/reducers.js';

const PIPE: Terminal = { stdoutIsTTY: false, env: {} };
const TTY: Terminal = { stdoutIsTTY: true, env: {} };
const TTY_NO_COLOR: Terminal = { stdoutIsTTY: true, env: { NO_COLOR: '1' } };

/** What commander hands over when no flag is given (its declared defaults; --key has none). */
const COMMANDER_DEFAULTS: RawStreamOptions = {
  window: '5s',
  commitInterval: '1s',
  maxLineBytes: String(1024 * 1024),
  job: 'default',
  dedupeTtl: '1h',
  workerTimeout: '10s',
  maxConnections: '256',
  retain: '1h',
};

function stream(raw: Partial<RawStreamOptions> = {}, files: string[] = [], terminal: Terminal = PIPE) {
  return parseStreamOptions('count', files, { ...COMMANDER_DEFAULTS, ...raw }, terminal);
}

function reduce(reduction: ReductionName, raw: Partial<RawStreamOptions> = {}, terminal: Terminal = PIPE) {
  return parseStreamOptions(reduction, [], { ...COMMANDER_DEFAULTS, ...raw }, terminal);
}

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseOutputOptions', () => {
  it('defaults to tsv without colour when stdout is not a terminal', () => {
    expect(parseOutputOptions({}, PIPE)).toEqual({ format: 'tsv', top: null, path: null, quiet: false, color: false });
  });

  it('defaults to a coloured table on a terminal', () => {
    expect(parseOutputOptions({}, TTY)).toEqual({ format: 'table', top: null, path: null, quiet: false, color: true });
  });

  it.each(['1', 'true', 'anything'])('never colours when NO_COLOR=%j is set, even on a terminal', (value) => {
    const options = parseOutputOptions({}, { stdoutIsTTY: true, env: { NO_COLOR: value } });
    expect(options.color).toBe(false);
    expect(options.format).toBe('table');
    expect(parseOutputOptions({ format: 'text' }, { stdoutIsTTY: true, env: { NO_COLOR: value } }).color).toBe(false);
  });

  it('colours text output on a terminal, but never when piped', () => {
    expect(parseOutputOptions({ format: 'text' }, TTY).color).toBe(true);
    expect(parseOutputOptions({ format: 'text' }, PIPE).color).toBe(false);
    expect(parseOutputOptions({ format: 'table' }, PIPE).color).toBe(false);
    expect(parseOutputOptions({ format: 'text' }, TTY_NO_COLOR).color).toBe(false);
  });

  it.each(['0', 'false'])('FORCE_COLOR=%j turns colour off on a terminal (--color auto)', (value) => {
    expect(parseOutputOptions({}, { stdoutIsTTY: true, env: { FORCE_COLOR: value } }).color).toBe(false);
    expect(parseOutputOptions({ color: 'auto', format: 'text' }, { stdoutIsTTY: true, env: { FORCE_COLOR: value } }).color).toBe(false);
  });

  it.each(['1', '2', '3', 'true'])('FORCE_COLOR=%j colours even into a pipe, unless NO_COLOR is set', (value) => {
    expect(parseOutputOptions({ format: 'table' }, { stdoutIsTTY: false, env: { FORCE_COLOR: value } }).color).toBe(true);
    expect(parseOutputOptions({ format: 'table' }, { stdoutIsTTY: false, env: { FORCE_COLOR: value, NO_COLOR: '1' } }).color).toBe(
      false,
    );
  });

  it('an empty NO_COLOR or FORCE_COLOR counts as unset', () => {
    expect(parseOutputOptions({}, { stdoutIsTTY: true, env: { NO_COLOR: '', FORCE_COLOR: '' } }).color).toBe(true);
    expect(parseOutputOptions({}, { stdoutIsTTY: false, env: { NO_COLOR: '', FORCE_COLOR: '' } }).color).toBe(false);
  });

  it('--color always colours table and text anywhere, whatever the environment says', () => {
    const env = { NO_COLOR: '1', FORCE_COLOR: '0' };
    expect(parseOutputOptions({ color: 'always', format: 'table' }, { stdoutIsTTY: false, env }).color).toBe(true);
    expect(parseOutputOptions({ color: 'always', format: 'text', output: 'out.txt' }, { stdoutIsTTY: false, env }).color).toBe(true);
  });

  it('--color never never colours, even on a terminal with FORCE_COLOR', () => {
    expect(parseOutputOptions({ color: 'never' }, { stdoutIsTTY: true, env: { FORCE_COLOR: '3' } }).color).toBe(false);
  });

  it.each(['tsv', 'csv', 'json'])('%s is never coloured, even with --color always', (format) => {
    expect(parseOutputOptions({ color: 'always', format }, TTY).color).toBe(false);
  });

  it('an unknown --color is a usage error naming the choices', () => {
    expect(usageError(() => parseOutputOptions({ color: 'sometimes' }, PIPE)).message).toBe(
      "--color expects one of auto, always, never, got 'sometimes'",
    );
  });

  it('an explicit format wins over the terminal default', () => {
    expect(parseOutputOptions({ format: 'tsv' }, TTY).format).toBe('tsv');
    expect(parseOutputOptions({ format: 'table' }, PIPE).format).toBe('table');
  });

  it('writing to a file is not a terminal: tsv, no colour, and the path is kept', () => {
    expect(parseOutputOptions({ output: 'out.tsv' }, TTY)).toEqual({
      format: 'tsv',
      top: null,
      path: 'out.tsv',
      quiet: false,
      color: false,
    });
  });

  it('-o - is stdout, with the same terminal defaults as no -o', () => {
    expect(parseOutputOptions({ output: '-' }, PIPE)).toEqual(parseOutputOptions({}, PIPE));
    expect(parseOutputOptions({ output: '-' }, TTY)).toEqual(parseOutputOptions({}, TTY));
  });

  it('returns a frozen config', () => {
    const options = parseOutputOptions({ top: '3', quiet: true }, PIPE);
    expect(Object.isFrozen(options)).toBe(true);
    expect(options.top).toBe(3);
    expect(options.quiet).toBe(true);
  });

  it.each(['text', 'tsv', 'csv', 'json', 'table'])('accepts --format %s', (format) => {
    expect(parseOutputOptions({ format }, PIPE).format).toBe(format);
  });

  it.each(['xml', 'TSV', 'Json', '', ' tsv', 'tsv,csv'])('refuses --format %j, listing the formats', (format) => {
    const error = usageError(() => parseOutputOptions({ format }, PIPE));
    expect(error.message).toMatch(/--format/);
    expect(error.message).toContain('text, tsv, csv, json, table');
  });

  it.each([
    ['1', 1],
    ['10', 10],
    ['1000000', 1_000_000],
  ])('accepts --top %j', (top, n) => {
    expect(parseOutputOptions({ top }, PIPE).top).toBe(n);
  });

  it.each(['0', '-1', '1.5', 'abc', '', '1e3', '0x10', '99999999999999999999'])('refuses --top %j, naming the option', (top) => {
    const error = usageError(() => parseOutputOptions({ top }, PIPE));
    expect(error.message).toMatch(/--top/);
    expect(error.message).toContain(`'${top}'`);
  });
});

describe('parseStreamOptions', () => {
  it('with no flags: word count of stdin, 5s windows, 1s commits, 1 MiB lines, in-memory state, tsv when piped', () => {
    expect(stream()).toEqual({
      reduction: 'count',
      inputs: [{ kind: 'stdin' }],
      key: { kind: 'word' },
      delimiter: null,
      ignoreCase: false,
      value: null,
      quantiles: null,
      time: null,
      timeFormat: 'auto',
      latenessMs: 0,
      idleTimeoutMs: null,
      lateOutput: null,
      rejectOutput: null,
      dedupe: null,
      dedupeTtlMs: 3_600_000,
      workerTimeoutMs: 10_000,
      network: [],
      follow: false,
      maxConnections: 256,
      retainMs: 3_600_000,
      windowMs: 5_000,
      commitIntervalMs: 1_000,
      maxLineBytes: 1_048_576,
      threads: null,
      db: null,
      job: 'default',
      source: null,
      metrics: null,
      output: { format: 'tsv', top: null, path: null, quiet: false, color: false },
    });
  });

  it('on a terminal the output defaults to a coloured table', () => {
    expect(stream({}, [], TTY).output).toEqual({ format: 'table', top: null, path: null, quiet: false, color: true });
    expect(stream({}, [], TTY_NO_COLOR).output.color).toBe(false);
  });

  it('returns a frozen config, its parts frozen too', () => {
    const config = stream({}, ['a.log']);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.inputs)).toBe(true);
    expect(Object.isFrozen(config.key)).toBe(true);
    expect(Object.isFrozen(config.output)).toBe(true);
  });

  it('takes every flag', () => {
    const config = parseStreamOptions(
      'sum',
      ['a.log', '-', 'b.log'],
      {
        key: 'field=2',
        delimiter: ',',
        ignoreCase: true,
        value: 'json=price.amount',
        time: 'field=1',
        timeFormat: 'iso8601',
        lateness: '2s',
        idleTimeout: '1m',
        lateOutput: 'late.log',
        rejectOutput: 'rejects.tsv',
        dedupe: 'json=id',
        dedupeTtl: '30m',
        workerTimeout: '5s',
        maxConnections: '10',
        retain: '2h',
        window: '1h30m',
        commitInterval: '250ms',
        maxLineBytes: '4096',
        threads: '3',
        db: 'state.db',
        job: '  web  ',
        source: 'host-1',
        metrics: '9464',
        format: 'json',
        top: '5',
        output: 'results.json',
        quiet: true,
      },
      TTY,
    );
    expect(config).toEqual({
      reduction: 'sum',
      inputs: [{ kind: 'file', path: 'a.log' }, { kind: 'stdin' }, { kind: 'file', path: 'b.log' }],
      key: { kind: 'field', index: 2 },
      delimiter: ',',
      ignoreCase: true,
      value: { kind: 'json', path: ['price', 'amount'] },
      quantiles: null,
      time: { kind: 'field', index: 1 },
      timeFormat: 'iso8601',
      latenessMs: 2_000,
      idleTimeoutMs: 60_000,
      lateOutput: 'late.log',
      rejectOutput: 'rejects.tsv',
      dedupe: { kind: 'json', path: ['id'] },
      dedupeTtlMs: 1_800_000,
      workerTimeoutMs: 5000,
      network: [],
      follow: false,
      maxConnections: 10,
      retainMs: 7_200_000,
      windowMs: 5_400_000,
      commitIntervalMs: 250,
      maxLineBytes: 4096,
      threads: 3,
      db: resolve('state.db'),
      job: 'web',
      source: 'host-1',
      metrics: { host: '127.0.0.1', port: 9464 },
      output: { format: 'json', top: 5, path: 'results.json', quiet: true, color: false },
    });
  });

  it('takes --metrics as [HOST:]PORT like --listen: loopback by default, port 0 for a free one', () => {
    expect(stream({ metrics: '0' }).metrics).toEqual({ host: '127.0.0.1', port: 0 });
    expect(stream({ metrics: '0.0.0.0:9464' }).metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(stream({ metrics: '[::1]:9464' }).metrics).toEqual({ host: '::1', port: 9464 });
    for (const bad of ['', 'x', '70000', 'host:', ':9464']) {
      expect(usageError(() => stream({ metrics: bad })).message).toContain('--metrics expects [HOST:]PORT');
    }
  });

  it('takes the database from STATESYNC_DB, --db first, as an absolute path', () => {
    const env = { STATESYNC_DB: 'from-env.db' };
    expect(stream({}, [], { stdoutIsTTY: false, env }).db).toBe(resolve('from-env.db'));
    expect(stream({ db: 'flag.db' }, [], { stdoutIsTTY: false, env }).db).toBe(resolve('flag.db'));
    expect(stream({}, [], { stdoutIsTTY: false, env: { STATESYNC_DB: '' } }).db).toBeNull();
  });

  it.each(['0', '-1', '1.5', 'abc', '', '65'])('refuses --threads %j, naming the option', (threads) => {
    const error = usageError(() => stream({ threads }));
    expect(error.message).toContain('--threads');
    expect(error.message).toContain(`'${threads}'`);
  });

  it.each(['0', '-1', '1.5', 'abc', '', '1MiB', '1e6'])('refuses --max-line-bytes %j, naming the option', (maxLineBytes) => {
    const error = usageError(() => stream({ maxLineBytes }));
    expect(error.message).toMatch(/--max-line-bytes/);
    expect(error.message).toContain(`'${maxLineBytes}'`);
  });

  it('refuses bad --top and --format given to a stream command', () => {
    expect(usageError(() => stream({ top: '0' })).message).toMatch(/--top/);
    expect(usageError(() => stream({ format: 'yaml' })).message).toMatch(/--format/);
  });

  it('refuses a bad --window or --commit-interval, naming the option', () => {
    expect(usageError(() => stream({ window: '5' })).message).toMatch(/--window/);
    expect(usageError(() => stream({ window: '0s' })).message).toMatch(/--window/);
    expect(usageError(() => stream({ commitInterval: 'soon' })).message).toMatch(/--commit-interval/);
  });

  it('refuses a bad --key', () => {
    expect(usageError(() => stream({ key: 'field=0' })).message).toMatch(/--key/);
    expect(usageError(() => stream({ key: 'nope' })).message).toMatch(/--key/);
  });

  it('refuses stdin given twice, an empty delimiter, job or source', () => {
    expect(usageError(() => stream({}, ['-', 'a.log', '-'])).message).toMatch(/stdin/);
    expect(usageError(() => stream({ delimiter: '' })).message).toMatch(/--delimiter/);
    expect(usageError(() => stream({ job: '' })).message).toMatch(/--job/);
    expect(usageError(() => stream({ job: '   ' })).message).toMatch(/--job/);
    expect(usageError(() => stream({ source: ' ' })).message).toMatch(/--source/);
  });
});

describe('parseStreamOptions: values (sum, min, max, avg)', () => {
  it.each(['sum', 'min', 'max', 'avg'] as const)('%s takes --value and an explicit --key', (reduction) => {
    const config = reduce(reduction, { key: 'field=1', value: 'field=2' });
    expect(config.reduction).toBe(reduction);
    expect(config.key).toEqual({ kind: 'field', index: 1 });
    expect(config.value).toEqual({ kind: 'field', index: 2 });
    expect(Object.isFrozen(config.value)).toBe(true);
    expect(reduce(reduction, { key: 'line', value: 'regex=took (\\d+)ms' }).value).toEqual({ kind: 'regex', source: 'took (\\d+)ms' });
  });

  it.each(['sum', 'min', 'max', 'avg'] as const)('%s without --value is refused, naming --value', (reduction) => {
    const error = usageError(() => reduce(reduction, { key: 'field=1' }));
    expect(error.message).toContain(reduction);
    expect(error.message).toMatch(/--value/);
  });

  it.each(['sum', 'min', 'max', 'avg'] as const)('%s without an explicit --key is refused (no word default)', (reduction) => {
    const error = usageError(() => reduce(reduction, { value: 'field=2' }));
    expect(error.message).toContain(reduction);
    expect(error.message).toMatch(/--key/);
  });

  it.each(['sum', 'min', 'max', 'avg'] as const)('%s with --key word is refused: many words cannot share one value', (reduction) => {
    const error = usageError(() => reduce(reduction, { key: 'word', value: 'field=2' }));
    expect(error.message).toMatch(/--key word/);
    expect(error.message).toMatch(/value/);
  });

  it('count takes no --value', () => {
    expect(usageError(() => reduce('count', { value: 'field=2' })).message).toMatch(/--value/);
  });

  it('refuses a bad --value spec, naming --value', () => {
    for (const value of ['word', 'line', 'field=0', 'json=', 'regex=(']) {
      expect(usageError(() => reduce('sum', { key: 'field=1', value })).message).toMatch(/--value/);
    }
  });
});

describe('parseStreamOptions: event time', () => {
  it('defaults to processing time: no time spec, auto format, no lateness, no idle timeout, no late output', () => {
    const config = stream({ key: 'line' });
    expect(config).toMatchObject({ time: null, timeFormat: 'auto', latenessMs: 0, idleTimeoutMs: null, lateOutput: null });
  });

  it('takes --time with a key that is not word, and its companions', () => {
    const config = stream({ key: 'field=2', time: 'json=ts', timeFormat: 'epoch-ms', lateness: '1m30s', idleTimeout: '10s', lateOutput: 'late.txt' });
    expect(config.time).toEqual({ kind: 'json', path: ['ts'] });
    expect(config.timeFormat).toBe('epoch-ms');
    expect(config.latenessMs).toBe(90_000);
    expect(config.idleTimeoutMs).toBe(10_000);
    expect(config.lateOutput).toBe('late.txt');
    expect(reduce('avg', { key: 'line', value: 'field=1', time: 'field=2' }).time).toEqual({ kind: 'field', index: 2 });
  });

  it.each(['auto', 'epoch-s', 'epoch-ms', 'iso8601'])('accepts --time-format %s', (timeFormat) => {
    expect(stream({ key: 'line', time: 'field=1', timeFormat }).timeFormat).toBe(timeFormat);
  });

  it.each(['', 'iso', 'ISO8601', 'epoch', 'seconds', 'rfc3339'])('refuses --time-format %j, listing the formats', (timeFormat) => {
    const error = usageError(() => stream({ key: 'line', time: 'field=1', timeFormat }));
    expect(error.message).toMatch(/--time-format/);
    expect(error.message).toContain('auto, epoch-s, epoch-ms, iso8601');
  });

  it('accepts --lateness 0 (the default) but no zero --idle-timeout', () => {
    expect(stream({ key: 'line', time: 'field=1', lateness: '0s' }).latenessMs).toBe(0);
    expect(usageError(() => stream({ key: 'line', time: 'field=1', idleTimeout: '0s' })).message).toMatch(/--idle-timeout/);
  });

  it('refuses a bad --lateness or --idle-timeout, naming the option', () => {
    expect(usageError(() => stream({ key: 'line', time: 'field=1', lateness: '5' })).message).toMatch(/--lateness/);
    expect(usageError(() => stream({ key: 'line', time: 'field=1', lateness: '-1s' })).message).toMatch(/--lateness/);
    expect(usageError(() => stream({ key: 'line', time: 'field=1', idleTimeout: 'soon' })).message).toMatch(/--idle-timeout/);
  });

  it.each([
    ['timeFormat', 'epoch-s', '--time-format'],
    ['lateness', '5s', '--lateness'],
    ['idleTimeout', '30s', '--idle-timeout'],
    ['lateOutput', 'late.log', '--late-output'],
  ] as const)('%s without --time is refused, naming %s... and --time', (field, value, flag) => {
    const error = usageError(() => stream({ key: 'line', [field]: value }));
    expect(error.message).toContain(flag);
    expect(error.message).toMatch(/--time SPEC/);
  });

  it('takes --time processing as the default it names: processing time, with any key', () => {
    // SPEC section 3: "--time processing (default): the wall clock when the record is read".
    expect(stream({ time: 'processing' }).time).toBeNull();
    expect(stream({ key: 'field=1', time: 'processing' })).toEqual(stream({ key: 'field=1' }));
    expect(reduce('sum', { key: 'line', value: 'field=1', time: 'processing' }).time).toBeNull();
    // Its companions still apply to event time only.
    expect(usageError(() => stream({ key: 'line', time: 'processing', lateness: '5s' })).message).toContain('--lateness');
  });

  it('refuses --time with --key word (given or by default): the words of a line cannot each carry the time', () => {
    expect(usageError(() => stream({ time: 'field=1' })).message).toMatch(/--key word/);
    expect(usageError(() => stream({ key: 'word', time: 'field=1' })).message).toMatch(/event time/);
  });

  it('refuses a bad --time spec, naming --time', () => {
    for (const time of ['word', 'line', 'field=0', 'json=a..b', 'regex=(', 'Processing']) {
      expect(usageError(() => stream({ key: 'line', time })).message).toMatch(/--time/);
    }
  });
});

describe('parseInstant (query --window, STATESYNC_NOW)', () => {
  const zone = process.env.TZ;
  afterEach(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });

  it('reads ISO-8601 without a zone as UTC, whatever the local zone is', () => {
    process.env.TZ = 'Asia/Kolkata';
    expect(parseInstant('2026-01-01T02:00:00', 'X')).toBe(Date.UTC(2026, 0, 1, 2));
    expect(parseInstant('2026-01-01 02:00', 'X')).toBe(Date.UTC(2026, 0, 1, 2));
    expect(parseInstant('2026-01-01', 'X')).toBe(Date.UTC(2026, 0, 1));
  });

  it('honours a zone when one is given', () => {
    expect(parseInstant('2026-01-01T02:00:00+05:30', 'X')).toBe(Date.UTC(2025, 11, 31, 20, 30));
    expect(parseInstant('2026-01-01T02:00:00.250Z', 'X')).toBe(Date.UTC(2026, 0, 1, 2, 0, 0, 250));
  });

  it('reads epoch seconds and milliseconds as event times are (below 1e11 is seconds)', () => {
    expect(parseInstant('1767225600', 'X')).toBe(1767225600000);
    expect(parseInstant('1767225600.5', 'X')).toBe(1767225600500);
    expect(parseInstant('1767225600000', 'X')).toBe(1767225600000);
  });

  it('refuses anything else with a usage error naming the option', () => {
    for (const bad of ['yesterday', '2026-13-01', '01/02/2026', '-5', '']) {
      expect(() => parseInstant(bad, '--window')).toThrow(UsageError);
    }
    expect(() => parseInstant('noon', '--window')).toThrow(/--window expects an ISO-8601 time .* got 'noon'/);
  });
});
