import type { FieldSpec, KeySpec } from './records/specs.js';
import type { TimeFormat } from './records/time.js';
import type { ReductionName } from './reducers/reducers.js';
import type { OutputFormat } from './sinks/sink.js';

/** One input of a stream command, in the order given. */
export type InputSpec = { readonly kind: 'stdin' } | { readonly kind: 'file'; readonly path: string };

/** A network input: --listen [HOST:]PORT or --connect HOST:PORT. */
export interface NetworkSpec {
  readonly kind: 'listen' | 'connect';
  readonly host: string;
  readonly port: number;
}

export interface OutputConfig {
  readonly format: OutputFormat;
  readonly top: number | null;
  /** null writes to stdout. */
  readonly path: string | null;
  readonly quiet: boolean;
  readonly color: boolean;
}

/** Everything a stream command (count, sum, ...) needs, parsed and validated once by the CLI. */
export interface StreamConfig {
  readonly reduction: ReductionName;
  /** Files and stdin, read one after the other; empty when only network inputs are given. */
  readonly inputs: readonly InputSpec[];
  readonly network: readonly NetworkSpec[];
  /** Keep reading files as they grow, across rotation and truncation (tail -F). */
  readonly follow: boolean;
  readonly maxConnections: number;
  readonly key: KeySpec;
  /** null: fields are separated by runs of whitespace. */
  readonly delimiter: string | null;
  readonly ignoreCase: boolean;
  /** The value of sum/min/max/avg/quantile/distinct; null for count. */
  readonly value: FieldSpec | null;
  /** quantile: the q of each quantile column, ascending, each in [0, 1]; null for the other reductions. */
  readonly quantiles: readonly number[] | null;
  /** Where the event time is; null means processing time. */
  readonly time: FieldSpec | null;
  readonly timeFormat: TimeFormat;
  /** Event time: how far behind the newest event time a record may be and still count. */
  readonly latenessMs: number;
  /** Event time: quiet input this long lets the watermark follow the wall clock; null never. */
  readonly idleTimeoutMs: number | null;
  /** Where late records' original lines are appended; null nowhere. */
  readonly lateOutput: string | null;
  /** Where rejected lines are appended with their reason; null nowhere. */
  readonly rejectOutput: string | null;
  /** --dedupe: where a record's id is; null keeps every record. */
  readonly dedupe: FieldSpec | null;
  readonly dedupeTtlMs: number;
  /** How long finalized results stay before compaction removes them. */
  readonly retainMs: number;
  /** A worker silent this long is dead to the others. */
  readonly workerTimeoutMs: number;
  readonly windowMs: number;
  readonly commitIntervalMs: number;
  readonly maxLineBytes: number;
  /** --threads: threads counting records (1: the reading thread counts them itself); null: not given (defaults.ts). */
  readonly threads: number | null;
  /** null: in-memory state. */
  readonly db: string | null;
  readonly job: string;
  /** --source: stable name for this process's input; null derives one per input. */
  readonly source: string | null;
  /** --metrics: where to serve /metrics and /healthz over HTTP; null serves nothing. */
  readonly metrics: { readonly host: string; readonly port: number } | null;
  readonly output: OutputConfig;
}
