import type { Writable } from 'node:stream';
import Table from 'cli-table3';
import type { WindowResult } from '../model.js';
import { formatNumber } from './number.js';
import { orderRows } from './order.js';
import { styles, type Styles } from './styles.js';
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
}

/** Writes window results to a stream in one format; windows arrive in the order they are to be printed. */
export class ResultSink {
  private headerWritten = false;
  private readonly styles: Styles;
  private readonly fields: readonly WindowField[];

  constructor(
    private readonly out: Writable,
    private readonly options: SinkOptions,
  ) {
    this.styles = styles(options.color);
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
    switch (this.options.format) {
      case 'tsv': {
        const tail = fields.map((v) => `\t${v ?? ''}`).join('');
        let s = '';
        for (const [key, value] of rows) s += `${start}\t${end}\t${tsvField(key)}\t${formatNumber(value)}${tail}\n`;
        return s;
      }
      case 'csv': {
        let s = '';
        if (!this.headerWritten) {
          s += `window_start,window_end,key,value${this.fields.map((f) => `,${f}`).join('')}\n`;
          this.headerWritten = true;
        }
        const tail = fields.map((v) => `,${v ?? ''}`).join('');
        for (const [key, value] of rows) s += `${start},${end},${csvField(key)},${formatNumber(value)}${tail}\n`;
        return s;
      }
      case 'json': {
        const prefix = `{"job":${JSON.stringify(result.job)},"window_start":"${start}","window_end":"${end}",`;
        const tail = this.fields.map((f, i) => `,"${f}":${JSON.stringify(fields[i])}`).join('');
        let s = '';
        for (const [key, value] of rows) s += `${prefix}"key":${JSON.stringify(key)},"value":${formatNumber(value)}${tail}}\n`;
        return s;
      }
      case 'text': {
        const c = this.styles;
        let s = `${this.title(result, start, end)}\n`;
        const width = rows.reduce((w, [, v]) => Math.max(w, formatNumber(v).length), 1);
        for (const [key, value] of rows) s += `  ${c.green(formatNumber(value).padStart(width))}  ${printable(key)}\n`;
        return s;
      }
      case 'table': {
        const c = this.styles;
        const table = new Table({
          head: [c.bold('key'), c.bold('value')],
          colAligns: ['left', 'right'],
          style: { head: [], border: [], compact: true },
        });
        for (const [key, value] of rows) table.push([printable(key), formatNumber(value)]);
        return `${this.title(result, start, end)}\n${table.toString()}\n`;
      }
    }
  }

  /** The heading of a window in text and table, with the window fields, which would only repeat in a column. */
  private title(result: WindowResult, start: string, end: string): string {
    const c = this.styles;
    let s = c.bold(c.cyan(`${start} .. ${end}`));
    for (const field of this.fields) {
      if (field === 'seq') s += `  seq ${result.seq ?? '-'}`;
      else if (field === 'revision') s += `  revision ${result.revision ?? '-'}`;
      else s += result.state === 'final' ? ' (final)' : c.yellow(` (${result.state})`);
    }
    return s;
  }
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
