import type { Writable } from 'node:stream';
import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { WindowResult } from '../model.js';
import { formatNumber } from './number.js';
import { orderRows } from './order.js';
import { isoTime } from './time.js';

export type OutputFormat = 'text' | 'tsv' | 'csv' | 'json' | 'table';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['text', 'tsv', 'csv', 'json', 'table'];

export interface SinkOptions {
  readonly format: OutputFormat;
  /** Only the N highest rows of each window; null for all. */
  readonly top: number | null;
  readonly color: boolean;
}

/** Writes window results to a stream in one format; windows arrive in the order they are to be printed. */
export class ResultSink {
  private headerWritten = false;
  private readonly chalk: InstanceType<typeof Chalk>;

  constructor(
    private readonly out: Writable,
    private readonly options: SinkOptions,
  ) {
    this.chalk = new Chalk({ level: options.color ? 1 : 0 });
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
    switch (this.options.format) {
      case 'tsv': {
        let s = '';
        for (const [key, value] of rows) s += `${start}\t${end}\t${tsvField(key)}\t${formatNumber(value)}\n`;
        return s;
      }
      case 'csv': {
        let s = '';
        if (!this.headerWritten) {
          s += 'window_start,window_end,key,value\n';
          this.headerWritten = true;
        }
        for (const [key, value] of rows) s += `${start},${end},${csvField(key)},${formatNumber(value)}\n`;
        return s;
      }
      case 'json': {
        const prefix = `{"job":${JSON.stringify(result.job)},"window_start":"${start}","window_end":"${end}",`;
        const state = result.state === 'open' ? ',"state":"open"' : '';
        let s = '';
        for (const [key, value] of rows) s += `${prefix}"key":${JSON.stringify(key)},"value":${formatNumber(value)}${state}}\n`;
        return s;
      }
      case 'text': {
        const c = this.chalk;
        const open = result.state === 'open' ? c.yellow(' (open)') : '';
        let s = `${c.bold.cyan(`${start} .. ${end}`)}${open}\n`;
        const width = rows.reduce((w, [, v]) => Math.max(w, formatNumber(v).length), 1);
        for (const [key, value] of rows) s += `  ${c.green(formatNumber(value).padStart(width))}  ${printable(key)}\n`;
        return s;
      }
      case 'table': {
        const c = this.chalk;
        const table = new Table({
          head: [c.bold('key'), c.bold('value')],
          colAligns: ['left', 'right'],
          style: { head: [], border: [], compact: true },
        });
        for (const [key, value] of rows) table.push([printable(key), formatNumber(value)]);
        const open = result.state === 'open' ? c.yellow(' (open)') : '';
        return `${c.bold.cyan(`${start} .. ${end}`)}${open}\n${table.toString()}\n`;
      }
    }
  }
}

/** Tab, newline and backslash escaped so one row stays one line of four fields. */
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
