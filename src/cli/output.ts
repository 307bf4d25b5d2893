import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { OutputConfig } from '../config.js';
import { cannotWrite, type StatesyncError } from '../errors.js';
import type { WindowResult } from '../model.js';
import { ResultSink, type WindowField } from '../sinks/sink.js';

/** Opens an output file now, so a bad path fails before any input is consumed. */
export function openOutputFile(path: string, flags: 'w' | 'a'): number {
  try {
    return openSync(path, flags);
  } catch (err) {
    throw cannotWrite(path, err);
  }
}

/**
 * Where results go: stdout or -o FILE. When stdout fails (EPIPE: a closed
 * `| head`) the run stops quietly; main.ts owns stdout and says what else
 * went wrong. A failing FILE is reported here, naming it.
 */
export class ResultOutput {
  private readonly stream: Writable;
  private readonly sink: ResultSink;
  private closed = false;
  private error: StatesyncError | null = null;

  /**
   * `fields`: window fields after `value` (watch: seq, query: state); the stream commands show none.
   * `columnsOf`: each job's value columns (quantile: p50, p90, ...); `value` when absent.
   */
  constructor(
    private readonly config: OutputConfig,
    onReaderGone: () => void,
    fields: readonly WindowField[] = [],
    columnsOf?: (job: string) => readonly string[],
  ) {
    this.stream = config.path === null ? process.stdout : createWriteStream('', { fd: openOutputFile(config.path, 'w') });
    this.stream.on('error', (err: NodeJS.ErrnoException) => {
      this.closed = true;
      if (config.path !== null) this.error = cannotWrite(config.path, err);
      onReaderGone();
    });
    this.sink = new ResultSink(this.stream, { ...config, fields, ...(columnsOf === undefined ? {} : { columnsOf }) });
  }

  publish(result: WindowResult): void {
    if (this.closed || this.config.quiet) return;
    this.sink.write(result);
  }

  /** Flushes and, for -o FILE, closes; throws the typed error of a failed FILE. */
  async finish(): Promise<void> {
    if (!this.closed) {
      if (this.config.path === null) {
        await new Promise<void>((done) => this.stream.write('', () => done()));
      } else {
        this.stream.end();
        // A failed last write settles this after the 'error' listener above has recorded it.
        await finished(this.stream).catch(() => undefined);
      }
    }
    if (this.error !== null) throw this.error;
  }
}
