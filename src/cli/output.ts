import { openSync } from 'node:fs';
import type { OutputConfig } from '../config.js';
import { cannotWrite } from '../errors.js';
import type { WindowResult } from '../model.js';
import { ResultSink, type WindowField } from '../sinks/sink.js';
import { FdWriter, stdout } from './stdio.js';

/** Opens an output file now, so a bad path fails before any input is consumed. */
export function openOutputFile(path: string, flags: 'w' | 'a'): number {
  try {
    return openSync(path, flags);
  } catch (err) {
    throw cannotWrite(path, err);
  }
}

/**
 * Where results go: stdout or -o FILE, both written synchronously (stdio.ts).
 * When stdout fails (EPIPE: a closed `| head`) the run stops quietly; main.ts
 * owns stdout and says what else went wrong. A failing FILE is reported
 * here, naming it.
 */
export class ResultOutput {
  private readonly out: FdWriter;
  private readonly sink: ResultSink;
  private closed = false;

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
    this.out = config.path === null ? stdout : new FdWriter(openOutputFile(config.path, 'w'));
    this.out.onFailure(() => {
      this.closed = true;
      onReaderGone();
    });
    this.sink = new ResultSink(this.out, { ...config, fields, ...(columnsOf === undefined ? {} : { columnsOf }) });
  }

  publish(result: WindowResult): void {
    if (this.closed || this.config.quiet) return;
    this.sink.write(result);
  }

  /** Flushes and, for -o FILE, closes; throws the typed error of a failed FILE. */
  async finish(): Promise<void> {
    await this.out.flush();
    if (this.config.path === null) return;
    const failure = this.out.close();
    if (failure !== null) throw cannotWrite(this.config.path, failure);
  }
}
