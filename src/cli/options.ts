import { resolve } from 'node:path';
import type { InputSpec, NetworkSpec, OutputConfig, StreamConfig } from '../config.js';
import { DEFAULT_LATENESS_MS, DEFAULT_QUANTILES } from '../defaults.js';
import { parseEndpoint } from '../sources/tcp.js';
import { isPostgresUrl, parsePostgresUrl } from '../state/open.js';
import { UsageError } from '../errors.js';
import { parseFieldSpec, parseKeySpec } from '../records/specs.js';
import { parseEventTime, TIME_FORMATS, type TimeFormat } from '../records/time.js';
import type { ReductionName } from '../reducers/reducers.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../sinks/sink.js';
import { parseDuration } from '../windows/duration.js';

/** Raw option values as commander hands them over. */
export interface RawStreamOptions {
  key?: string;
  delimiter?: string;
  ignoreCase?: boolean;
  value?: string;
  /** quantile: --q LIST. */
  q?: string;
  time?: string;
  timeFormat?: string;
  lateness?: string;
  idleTimeout?: string;
  lateOutput?: string;
  rejectOutput?: string;
  dedupe?: string;
  dedupeTtl: string;
  listen?: string;
  connect?: string;
  metrics?: string;
  follow?: boolean;
  maxConnections: string;
  workerTimeout: string;
  retain: string;
  window: string;
  commitInterval: string;
  maxLineBytes: string;
  /** Absent: 1 (the default commander gives). */
  threads?: string;
  db?: string;
  job: string;
  source?: string;
  format?: string;
  top?: string;
  output?: string;
  quiet?: boolean;
  color?: string;
}

export interface RawOutputOptions {
  format?: string;
  top?: string;
  output?: string;
  quiet?: boolean;
  color?: string;
}

export const COLOR_MODES = ['auto', 'always', 'never'] as const;

/** Where the terminal-dependent defaults come from; injected so they are testable. */
export interface Terminal {
  readonly stdoutIsTTY: boolean;
  readonly env: NodeJS.ProcessEnv;
}

export function parseStreamOptions(
  reduction: ReductionName,
  files: readonly string[],
  raw: RawStreamOptions,
  terminal: Terminal,
): StreamConfig {
  const network: NetworkSpec[] = [];
  if (raw.listen !== undefined) network.push({ kind: 'listen', ...parseEndpoint(raw.listen, '--listen', '127.0.0.1', true) });
  if (raw.connect !== undefined) network.push({ kind: 'connect', ...parseEndpoint(raw.connect, '--connect', null) });
  // Stdin is the default input only when nothing else is given; name it '-' to add it to network inputs.
  const inputs: InputSpec[] = files.length === 0 && network.length === 0 ? [{ kind: 'stdin' }] : files.map(toInput);
  if (raw.follow === true && !inputs.some((i) => i.kind === 'file')) {
    throw new UsageError('--follow needs at least one FILE to follow');
  }
  if (inputs.filter((i) => i.kind === 'stdin').length > 1) {
    throw new UsageError('stdin (-) can be given only once');
  }
  const needsValue = reduction !== 'count';
  if (needsValue && raw.value === undefined) {
    throw new UsageError(`${reduction} needs --value SPEC (field=N, json=PATH or regex=RE)`);
  }
  if (!needsValue && raw.value !== undefined) {
    throw new UsageError('count takes no --value; use sum, min, max or avg to reduce values');
  }
  if (needsValue && raw.key === undefined) {
    throw new UsageError(`${reduction} needs --key line, field=N, json=PATH or regex=RE`);
  }
  const key = parseKeySpec(raw.key ?? 'word');
  if (key.kind === 'word' && (needsValue || (raw.time !== undefined && raw.time !== 'processing'))) {
    throw new UsageError(
      `--key word splits a line into many records, which cannot share one ${needsValue ? 'value' : 'event time'}; ` +
        'use --key line, field=N, json=PATH or regex=RE',
    );
  }
  // --time processing names the default explicitly.
  const timeSpec = raw.time === undefined || raw.time === 'processing' ? undefined : raw.time;
  const eventTime = timeSpec !== undefined;
  if (raw.dedupe !== undefined && reduction === 'distinct') {
    throw new UsageError('distinct takes no --dedupe: a record sent twice has the same value, which counts once anyway');
  }
  if (raw.dedupe !== undefined && key.kind === 'word') {
    throw new UsageError('--dedupe needs one record per line: use --key line, field=N, json=PATH or regex=RE');
  }
  for (const [given, flag] of [
    [raw.timeFormat, '--time-format'],
    [raw.lateness, '--lateness'],
    [raw.idleTimeout, '--idle-timeout'],
    [raw.lateOutput, '--late-output'],
  ] as const) {
    if (given !== undefined && !eventTime) throw new UsageError(`${flag} applies to event time; give --time SPEC too`);
  }
  if (raw.delimiter !== undefined && raw.delimiter === '') {
    throw new UsageError('--delimiter must not be empty');
  }
  const job = raw.job.trim();
  if (job === '') throw new UsageError('--job must not be empty');
  if (raw.source !== undefined && raw.source.trim() === '') throw new UsageError('--source must not be empty');
  return Object.freeze({
    reduction,
    inputs: Object.freeze(inputs),
    network: Object.freeze(network.map((n) => Object.freeze(n))),
    follow: raw.follow === true,
    maxConnections: parsePositiveInt(raw.maxConnections, '--max-connections'),
    key,
    delimiter: raw.delimiter ?? null,
    ignoreCase: raw.ignoreCase === true,
    value: raw.value === undefined ? null : parseFieldSpec(raw.value, '--value'),
    quantiles: reduction === 'quantile' ? parseQuantiles(raw.q ?? DEFAULT_QUANTILES) : null,
    time: timeSpec === undefined ? null : parseFieldSpec(timeSpec, '--time'),
    timeFormat: parseTimeFormat(raw.timeFormat ?? 'auto'),
    latenessMs: raw.lateness === undefined ? DEFAULT_LATENESS_MS : parseDuration(raw.lateness, '--lateness', true),
    idleTimeoutMs: raw.idleTimeout === undefined ? null : parseDuration(raw.idleTimeout, '--idle-timeout'),
    lateOutput: raw.lateOutput ?? null,
    rejectOutput: raw.rejectOutput ?? null,
    dedupe: raw.dedupe === undefined ? null : parseFieldSpec(raw.dedupe, '--dedupe'),
    dedupeTtlMs: parseDuration(raw.dedupeTtl, '--dedupe-ttl'),
    workerTimeoutMs: parseDuration(raw.workerTimeout, '--worker-timeout'),
    retainMs: parseDuration(raw.retain, '--retain'),
    windowMs: parseDuration(raw.window, '--window'),
    commitIntervalMs: parseDuration(raw.commitInterval, '--commit-interval'),
    maxLineBytes: parsePositiveInt(raw.maxLineBytes, '--max-line-bytes'),
    threads: raw.threads === undefined ? null : parseThreads(raw.threads),
    db: dbPath(raw.db, terminal.env),
    job,
    source: raw.source ?? null,
    metrics: raw.metrics === undefined ? null : Object.freeze(parseEndpoint(raw.metrics, '--metrics', '127.0.0.1', true)),
    output: parseOutputOptions(raw, terminal),
  });
}

export function parseOutputOptions(raw: RawOutputOptions, terminal: Terminal): OutputConfig {
  const toTerminal = (raw.output === undefined || raw.output === '-') && terminal.stdoutIsTTY;
  const format = raw.format === undefined ? (toTerminal ? 'table' : 'tsv') : parseFormat(raw.format);
  const color = wantsColor(raw.color ?? 'auto', toTerminal, terminal.env);
  return Object.freeze({
    format,
    top: raw.top === undefined ? null : parsePositiveInt(raw.top, '--top'),
    path: raw.output === undefined || raw.output === '-' ? null : raw.output,
    quiet: raw.quiet === true,
    // Escapes would corrupt tsv, csv and json, whatever --color says.
    color: color && (format === 'table' || format === 'text'),
  });
}

/**
 * The one colour rule. never / always say it all. auto: NO_COLOR (not empty)
 * turns colour off; FORCE_COLOR turns it off when 0 or false and on otherwise,
 * even into a pipe (as chalk reads it); else colour only on a terminal.
 */
function wantsColor(mode: string, toTerminal: boolean, env: NodeJS.ProcessEnv): boolean {
  if (mode === 'never') return false;
  if (mode === 'always') return true;
  if (mode !== 'auto') throw new UsageError(`--color expects one of ${COLOR_MODES.join(', ')}, got '${mode}'`);
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force.toLowerCase() !== 'false';
  return toTerminal;
}

/** --db, else STATESYNC_DB, else null (in memory): a PostgreSQL URL (its form checked now) or an SQLite file's absolute path. */
export function dbPath(flag: string | undefined, env: NodeJS.ProcessEnv): string | null {
  // An empty STATESYNC_DB is as good as unset (a shell's `STATESYNC_DB= cmd`); an empty --db is a mistake.
  if (flag === '') throw new UsageError('--db must not be empty (leave it out to keep the state in memory)');
  const value = flag ?? env.STATESYNC_DB;
  if (value === undefined || value === '') return null;
  if (isPostgresUrl(value)) {
    parsePostgresUrl(value);
    return value;
  }
  return resolve(value);
}

export function requireDb(flag: string | undefined, env: NodeJS.ProcessEnv, command: string): string {
  const path = dbPath(flag, env);
  if (path === null) throw new UsageError(`${command} needs a database: give --db FILE (or a postgres:// URL) or set STATESYNC_DB`);
  return path;
}

function toInput(file: string): InputSpec {
  return file === '-' ? { kind: 'stdin' } : { kind: 'file', path: file };
}

function parseTimeFormat(text: string): TimeFormat {
  if ((TIME_FORMATS as readonly string[]).includes(text)) return text as TimeFormat;
  throw new UsageError(`--time-format expects one of ${TIME_FORMATS.join(', ')}, got '${text}'`);
}

function parseFormat(text: string): OutputFormat {
  if ((OUTPUT_FORMATS as readonly string[]).includes(text)) return text as OutputFormat;
  throw new UsageError(`--format expects one of ${OUTPUT_FORMATS.join(', ')}, got '${text}'`);
}

/** More counting threads than this only add memory and contention. */
export const MAX_THREADS = 64;

function parseThreads(text: string): number {
  const n = parsePositiveInt(text, '--threads');
  if (n > MAX_THREADS) throw new UsageError(`--threads expects at most ${MAX_THREADS}, got '${text}'`);
  return n;
}

export function parsePositiveInt(text: string, optionName: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${optionName} expects a whole number of 1 or more, got '${text}'`);
  }
  return Number(text);
}

/**
 * A time given by the user (query --window, STATESYNC_NOW): read exactly as an
 * event time is, so ISO-8601 without a zone is UTC everywhere, never local time.
 */
export function parseInstant(text: string, optionName: string): number {
  const ms = parseEventTime(text, 'auto');
  if (ms === null) {
    throw new UsageError(`${optionName} expects an ISO-8601 time (UTC unless it has a zone) or epoch seconds, got '${text}'`);
  }
  return ms;
}

/**
 * --q LIST: quantiles as fractions in [0, 1], comma-separated; kept in
 * ascending order without repeats (so the last column is the highest, which
 * orders the rows, and one set of quantiles has one spelling in the job's definition).
 */
export function parseQuantiles(text: string): readonly number[] {
  const qs = text.split(',').map((part) => {
    const t = part.trim();
    const q = Number(t);
    if (!/^(0|1|0?\.\d+|1\.0*)$/.test(t) || !(q >= 0 && q <= 1)) {
      throw new UsageError(`--q expects quantiles between 0 and 1 separated by commas, such as 0.5,0.9,0.99; got '${text}'`);
    }
    return q;
  });
  return Object.freeze([...new Set(qs)].sort((a, b) => a - b));
}
