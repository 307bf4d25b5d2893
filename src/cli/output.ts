import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { OutputConfig } from '../config.js';
import { RuntimeFailure, UsageError } from '../errors.js';
import type { WindowResult } from '../model.js';
import { ResultSink, type WindowField } from '../sinks/sink.js';

/** Opens an output file now, so a bad path fails before any input is consumed. */
export function openOutputFile(path: string, flags: 'w' | 'a'): number {
  try {
    return openSync(path, flags);
  } catch (err) {
    throw new UsageError(`cannot open ${path} for writing: ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
  }
}

/** Where results go: stdout or -o FILE, with EPIPE (a closed `| head`) turned into a quiet stop. */
export class ResultOutput {
  private readonly stream: Writable;
  private readonly sink: ResultSink;
  private closed = false;
  private error: Error | null = null;

  /** `fields`: window fields after `value` (watch: seq, query: state); the stream commands show none. */
  constructor(
    private readonly config: OutputConfig,
    onReaderGone: () => void,
    fields: readonly WindowField[] = [],
  ) {
    this.stream = config.path === null ? process.stdout : createWriteStream('', { fd: openOutputFile(config.path, 'w') });
    this.stream.on('error', (err: NodeJS.ErrnoException) => {
      this.closed = true;
      if (err.code === 'EPIPE' && config.path === null) {
        onReaderGone();
      } else {
        this.error = err;
        onReaderGone();
      }
    });
    this.sink = new ResultSink(this.stream, { ...config, fields });
  }

  publish(result: WindowResult): void {
    if (this.closed || this.config.quiet) return;
    this.sink.write(result);
  }

  /** Flushes and, for -o FILE, closes; reports a write failure as a runtime error. */
  async finish(): Promise<void> {
    if (this.error === null && !this.closed) {
      await new Promise<void>((done) => {
        if (this.config.path === null) this.stream.write('', () => done());
        else this.stream.end(() => done());
      });
    }
    if (this.error !== null) {
      throw new RuntimeFailure(`cannot write results to ${this.config.path ?? 'stdout'}: ${this.error.message}`);
    }
  }
}
