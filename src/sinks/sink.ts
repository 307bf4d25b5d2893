import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { RowValue, WindowResult } from '../model.js';
import { formatNumber, formatRowValue } from './number.js';
import { orderRows } from './order.js';
import { isoTime } from './time.js';

export type OutputFormat = 'text' | 'tsv' | 'csv' | 'json' | 'table';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'tsv', 'csv', 'json', 'table'];

/**
 * A field of the whole window shown with every row, after `value`: `watch`
 * adds the publication's `seq`, `revision` and `final` (true or false),
 * `query` the window's `state` (open, provisional or final).
 */
export type WindowField = 'seq' | 'revision' | 'final' | 'state';

/** How a publication is marked wherever one is printed: its revision and whether it is final. */
export const PUBLICATION_MARKS: readonly WindowField[] = ['revision', 'final'];

export interface SinkOptions {
  readonly format: OutputFormat;
  /** Only the N highest rows of each window; null for all. */
  readonly top: number | null;
  readonly color: boolean;
  /** Window fields after `value`, in this order; none (the stream commands' four columns) when absent. */
  readonly fields?: readonly WindowField[];
  /**
   * The names of a job's value columns: ['value'] (the default), or one per
   * quantile (p50, p90, p99) where a row's value is an array of that length.
   */
  readonly columnsOf?: (job: string) => readonly string[];
}

const VALUE_COLUMN: readonly string[] = ['value'];

/** Where text is written: stdout, a file, a test's collector. */
export interface TextOut {
  write(text: string): unknown;
}

/** Writes window results to a stream in one format; windows arrive in the order they are to be printed. */
export class ResultSink {
  /** The csv header last written (again whenever a job with other value columns follows). */
  private header: string | null = null;
  private readonly chalk: InstanceType<typeof Chalk>;
  private readonly fields: readonly WindowField[];

  constructor(
    private readonly out: TextOut,
    private readonly options: SinkOptions,
  ) {
    this.chalk = new Chalk({ level: options.color ? 1 : 0 });
    this.fields = options.fields ?? [];
  }

  write(result: WindowResult): void {
    const ordered = orderRows(result.rows);
    const rows = this.options.top === null ? ordered : ordered.slice(0, this.options.top);
    const text = this.render(result, rows);
    if (text.length > 0) this.out.write(text);
  }

  private render(result: WindowResult, rows: WindowResult['rows']): string {
    const start = isoTime(result.start);
    const end = isoTime(result.end);
    // The window fields are the same on every row: rendered once per window.
    const fields = this.fields.map((f) => fieldValue(result, f));
    const columns = this.options.columnsOf?.(result.job) ?? VALUE_COLUMN;
    switch (this.options.format) {
      case 'tsv': {
        const tail = fields.map((v) => `\t${v ?? ''}`).join('');
        let s = '';
        for (const [key, value] of rows) s += `${start}\t${end}\t${tsvField(key)}\t${formatRowValue(value, '\t')}${tail}\n`;
        return s;
      }
      case 'csv': {
        let s = '';
        const header = `window_start,window_end,key,${columns.join(',')}${this.fields.map((f) => `,${f}`).join('')}\n`;
        if (header !== this.header) {
          s += header;
          this.header = header;
        }
        const tail = fields.map((v) => `,${v ?? ''}`).join('');
        for (const [key, value] of rows) s += `${start},${end},${csvField(key)},${formatRowValue(value, ',')}${tail}\n`;
        return s;
      }
      case 'json': {
        const prefix = `{"job":${JSON.stringify(result.job)},"window_start":"${start}","window_end":"${end}",`;
        const tail = this.fields.map((f, i) => `,"${f}":${JSON.stringify(fields[i])}`).join('');
        let s = '';
        for (const [key, value] of rows) s += `${prefix}"key":${JSON.stringify(key)},${jsonValues(columns, value)}${tail}}\n`;
        return s;
      }
      case 'text': {
        const c = this.chalk;
        let s = `${this.title(result, start, end)}\n`;
        const cells = rows.map(([, value]) => valueCells(value));
        const widths = columns.map((name, i) => cells.reduce((w, row) => Math.max(w, row[i]?.length ?? 0), columns.length > 1 ? name.length : 1));
        // Several value columns are named above their values; one is the value, as it always was.
        if (columns.length > 1) s += `  ${columns.map((name, i) => name.padStart(widths[i]!)).join('  ')}\n`;
        rows.forEach(([key], r) => {
          s += `  ${c.green(cells[r]!.map((cell, i) => cell.padStart(widths[i]!)).join('  '))}  ${printable(key)}\n`;
        });
        return s;
      }
      case 'table': {
        const c = this.chalk;
        const table = new Table({
          head: [c.bold('key'), ...columns.map((name) => c.bold(name))],
          colAligns: ['left', ...columns.map(() => 'right' as const)],
          style: { head: [], border: [], compact: true },
        });
        for (const [key, value] of rows) table.push([printable(key), ...valueCells(value)]);
        return `${this.title(result, start, end)}\n${table.toString()}\n`;
      }
    }
  }

  /** The heading of a window in text and table, with the window fields, which would only repeat in a column. */
  private title(result: WindowResult, start: string, end: string): string {
    const c = this.chalk;
    let s = c.bold.cyan(`${start} .. ${end}`);
    for (const field of this.fields) {
      if (field === 'seq') s += `  seq ${result.seq ?? '-'}`;
      else if (field === 'revision') s += `  revision ${result.revision ?? '-'}`;
      else s += result.state === 'final' ? ' (final)' : c.yellow(` (${result.state})`);
    }
    return s;
  }
}

/** A row's value as printed: one cell, or one per quantile. */
function valueCells(value: RowValue): string[] {
  return typeof value === 'object' ? value.map(formatNumber) : [formatNumber(value)];
}

/** `"value":V`, or `"p50":V,"p90":V,...` for a quantile row. */
function jsonValues(columns: readonly string[], value: RowValue): string {
  if (typeof value !== 'object') return `"value":${formatNumber(value)}`;
  return value.map((v, i) => `${JSON.stringify(columns[i] ?? `value${i + 1}`)}:${formatNumber(v)}`).join(',');
}

function fieldValue(result: WindowResult, field: WindowField): string | number | boolean | null {
  switch (field) {
    case 'seq':
      return result.seq;
    case 'revision':
      return result.revision;
    case 'final':
      return result.state === 'final';
    case 'state':
      return result.state;
  }
}

/** Tab, newline and backslash escaped so a row stays one line with its fields in place. */
function tsvField(text: string): string {
  return /[\t\n\r\\]/.test(text)
    ? text.replace(/[\t\n\r\\]/g, (ch) => (ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : '\\\\'))
    : text;
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Control characters would corrupt a terminal; show them escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}
