import { Chalk } from 'chalk';
import type { ResultRow } from '../model.js';
import type { PublicationSummary } from '../state/port.js';
import { formatRowValue } from './number.js';

/** What `top` shows of one job at one moment; the CLI fills it from the state store. */
export interface TopView {
  /** The database as messages name it (a URL without its password). */
  readonly database: string;
  readonly now: number;
  readonly intervalMs: number;
  readonly paused: boolean;
  /** A line about a failed read (the view is the last good one), or null. */
  readonly problem: string | null;
  readonly jobs: readonly string[];
  /** Index into `jobs`; the rest is about that job (nothing while the database holds no job). */
  readonly selected: number;
  readonly job: TopJob | null;
  /** How many rows of the key list are scrolled past. */
  readonly scroll: number;
}

export interface TopJob {
  readonly name: string;
  readonly definition: Readonly<Record<string, string>>;
  /** Committed totals. */
  readonly records: number;
  readonly rejected: number;
  readonly late: number;
  readonly duplicates: number;
  /** Committed records per second over the last few seconds; null until two reads apart. */
  readonly rate: number | null;
  /** Committed records per second between successive reads over the last minute, oldest first. */
  readonly history: readonly number[];
  readonly workers: readonly TopWorker[];
  readonly windows: readonly TopWindow[];
  /** The window whose keys are listed (the current one), or null. */
  readonly keysOf: TopWindow | null;
  /** Its rows, in output order (value descending, then key). */
  readonly keys: readonly ResultRow[];
  readonly publications: readonly TopPublication[];
}

export interface TopWorker {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly state: 'alive' | 'idle' | 'finished' | 'dead';
  readonly heartbeatAt: number;
  readonly watermark: number | null;
}

export interface TopWindow {
  readonly start: number;
  readonly end: number;
  readonly state: 'open' | 'provisional';
  readonly revision: number | null;
  readonly commits: number;
  readonly keyRows: number;
}

/** A publication as top lists it: its job is the one shown. */
export type TopPublication = Omit<PublicationSummary, 'job'>;

/** Rows shown at most per section, so the keys keep most of the screen. */
const MAX_WORKERS = 6;
const MAX_WINDOWS = 3;
export const MAX_PUBLICATIONS = 5;
/** Seconds of history in the sparkline. */
export const HISTORY_POINTS = 60;
const SPARKS = '▁▂▃▄▅▆▇█';
export const TOP_KEYS_HELP = 'q quit  j/J/Tab job  ↑/↓ PgUp/PgDn scroll  p pause';

/**
 * The whole screen as `height` lines of at most `width` columns (escapes
 * aside): header, the job's counters and rate, its workers, its windows not
 * final, the keys of the current one (as many as fit, from `scroll`), the
 * latest publications, and a footer with the keys. Colour only when asked.
 */
export function renderTop(view: TopView, width: number, height: number, color: boolean): string[] {
  const c = new Chalk({ level: color ? 1 : 0 });
  const out: Array<{ text: string; style?: (s: string) => string }> = [];
  const line = (text: string, style?: (s: string) => string) => out.push(style === undefined ? { text } : { text, style });
  const heading = (text: string) => line(text, c.bold);

  const clock = `${hms(view.now)} UTC  every ${seconds(view.intervalMs)}`;
  line(spread(`statesync top  ${view.database}`, clock, width), c.inverse);
  const job = view.job;
  if (job === null) {
    line('');
    line('no job in this database yet: start a worker (statesync count ... --db DB) and it shows here');
  } else {
    const def = describeDefinition(job.definition);
    heading(`job ${view.selected + 1}/${view.jobs.length}  ${job.name}  ${def}`);
    const rate = job.rate === null ? '-' : grouped(Math.round(job.rate));
    const counts =
      `  records ${grouped(job.records)}  ${rate}/s  ` +
      `rejected ${grouped(job.rejected)}  late ${grouped(job.late)}  duplicates ${grouped(job.duplicates)}  `;
    // The last minute of records/s in what is left of the line.
    const sparkRoom = Math.min(HISTORY_POINTS, width - counts.length);
    line(sparkRoom >= 10 ? counts + sparkline(job.history, sparkRoom) : counts.trimEnd());
    const alive = job.workers.filter((w) => w.state === 'alive' || w.state === 'idle').length;
    heading(`workers ${job.workers.length} (${alive} alive)`);
    line(`  ${pad('ID', 9)}${pad('HOST', 20)}${pad('PID', 8)}${pad('STATE', 9)}${pad('HEARTBEAT', 11)}${pad('WATERMARK', 14)}LAG`, c.dim);
    for (const w of job.workers.slice(0, MAX_WORKERS)) {
      const live = w.state === 'alive' || w.state === 'idle';
      const style = w.state === 'alive' ? c.green : w.state === 'idle' ? c.yellow : w.state === 'dead' ? c.red : c.gray;
      line(
        `  ${pad(w.id.slice(0, 8), 9)}${pad(w.host, 20)}${pad(String(w.pid), 8)}${pad(w.state, 9)}` +
          `${pad(`${seconds(view.now - w.heartbeatAt)} ago`, 11)}${pad(w.watermark === null ? '-' : hms(w.watermark, true), 14)}` +
          `${live && w.watermark !== null ? seconds(view.now - w.watermark) : '-'}`,
        style,
      );
    }
    if (job.workers.length > MAX_WORKERS) line(`  ... ${job.workers.length - MAX_WORKERS} more`, c.dim);
    heading(`windows not final ${job.windows.length}`);
    for (const w of job.windows.slice(0, MAX_WINDOWS)) {
      const ends = w.end > view.now ? `ends in ${seconds(w.end - view.now)}` : `ended ${seconds(view.now - w.end)} ago`;
      const state = w.state === 'open' ? 'open' : `provisional, revision ${w.revision ?? '-'}`;
      line(`  ${span(w.start, w.end)}  ${state}  ${ends}  commits ${grouped(w.commits)}  key rows ${grouped(w.keyRows)}`);
    }
    if (job.windows.length > MAX_WINDOWS) line(`  ... ${job.windows.length - MAX_WINDOWS} more`, c.dim);

    const publications: typeof out = [];
    publications.push({ text: `latest publications`, style: c.bold });
    publications.push({ text: `  ${pad('SEQ', 8)}${pad('WINDOW', 22)}${pad('REVISION', 10)}${pad('FINAL', 13)}${pad('ROWS', 10)}PUBLISHED`, style: c.dim });
    for (const p of job.publications.slice(0, MAX_PUBLICATIONS)) {
      publications.push({
        text:
          `  ${pad(String(p.seq), 8)}${pad(span(p.start, p.end), 22)}${pad(String(p.revision), 10)}` +
          `${pad(p.final ? 'final' : 'provisional', 13)}${pad(grouped(p.rowCount), 10)}${seconds(Math.max(0, view.now - p.publishedAt))} ago`,
      });
    }
    if (job.publications.length === 0) publications.push({ text: '  none yet', style: c.dim });

    // The keys take what the other sections leave, at least one row.
    const room = Math.max(1, height - out.length - publications.length - 3);
    const keys = job.keys;
    const first = Math.min(view.scroll, Math.max(0, keys.length - room));
    const shown = keys.slice(first, first + room);
    const range = keys.length === 0 ? '' : `  rows ${first + 1}-${first + shown.length} of ${grouped(keys.length)}`;
    heading(job.keysOf === null ? 'top keys: no window open' : `top keys of ${span(job.keysOf.start, job.keysOf.end)}${range}`);
    const valueWidth = Math.max(5, ...shown.map(([, v]) => formatRowValue(v, ' ').length)) + 2;
    line(`  ${pad('VALUE', valueWidth)}KEY`, c.dim);
    for (const [key, value] of shown) line(`  ${pad(formatRowValue(value, ' '), valueWidth)}${printable(key)}`);
    out.push(...publications);
  }
  const footer = view.problem ?? (view.paused ? `PAUSED (p resumes)  ${TOP_KEYS_HELP}` : TOP_KEYS_HELP);
  // Short of rows: sections lose their last lines; the footer always shows, on the last row.
  const body = out.slice(0, Math.max(0, height - 1));
  while (body.length < height - 1) body.push({ text: '' });
  body.push({ text: footer, style: view.problem === null ? c.inverse : c.red });
  return body.map(({ text, style }) => {
    const fitted = fit(text, width);
    return style === undefined ? fitted : style(fitted);
  });
}

/** The job's definition in one line: the reduction, then what is set (`none` and defaults left out). */
export function describeDefinition(definition: Readonly<Record<string, string>>): string {
  const parts = [definition.reduction ?? '?'];
  for (const [name, value] of Object.entries(definition)) {
    if (name === 'reduction' || value === 'none' || (name === 'ignore-case' && value === 'false')) continue;
    parts.push(`${name}=${value}`);
  }
  return parts.join(' ');
}

/** One character per point, scaled to the largest; blanks before the history starts. */
export function sparkline(points: readonly number[], width = HISTORY_POINTS): string {
  const recent = points.slice(-width);
  const top = Math.max(0, ...recent);
  const marks = recent.map((p) => (top === 0 ? SPARKS[0]! : SPARKS[Math.min(SPARKS.length - 1, Math.floor((p / top) * SPARKS.length))]!));
  return ' '.repeat(width - recent.length) + marks.join('');
}

function spread(left: string, right: string, width: number): string {
  const gap = width - left.length - right.length;
  return gap >= 2 ? left + ' '.repeat(gap) + right : `${left}  ${right}`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text.slice(0, width - 1)} ` : text.padEnd(width);
}

/** Cut to the screen's width (in UTF-16 units; the screen shows no wide characters but what keys hold) and padded. */
function fit(text: string, width: number): string {
  return text.length > width ? text.slice(0, width) : text;
}

/** A key as the screen can show it: control characters as `?`, so a key never moves the cursor. */
function printable(key: string): string {
  // eslint-disable-next-line no-control-regex
  return key.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function hms(epochMs: number, millis = false): string {
  return new Date(epochMs).toISOString().slice(11, millis ? 23 : 19);
}

function span(start: number, end: number): string {
  return `${hms(start)}..${hms(end)}`;
}

/** A duration for people: 0.4s, 12s, 3m05s, 2h01m. */
export function seconds(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** 1234567 -> 1,234,567 (never locale-dependent). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
