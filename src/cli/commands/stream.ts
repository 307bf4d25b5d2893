import type { StreamConfig } from '../../config.js';
import { cannotWrite } from '../../errors.js';
import { REJECT_REASONS, type RejectReason } from '../../records/framer.js';
import { StreamJob } from '../../pipeline/stream-job.js';
import { valueColumns } from '../../reducers/reducers.js';
import { formatReject } from '../../sinks/rejects.js';
import { PUBLICATION_MARKS } from '../../sinks/sink.js';
import { openStore } from '../../state/open.js';
import { clockStartingAt, systemClock, type Clock } from '../../windows/tumbling.js';
import { refuseOutputsOverInputs } from '../guards.js';
import type { MetricsServer } from '../metrics.js';
import { localLiveness } from '../liveness.js';
import { parseInstant } from '../options.js';
import { openOutputFile, ResultOutput } from '../output.js';
import { progressBar } from '../progress.js';
import { exitCodeAfter, trapStopSignals } from '../signals.js';
import { FdWriter } from '../stdio.js';

/** count / sum / min / max / avg: runs the stream job until its inputs end or a signal stops it. */
export async function runStreamCommand(
  config: StreamConfig,
  note: (line: string) => void,
  forceExit: (code: number) => never,
): Promise<number> {
  refuseOutputsOverInputs(
    [
      { option: '-o', path: config.output.path },
      { option: '--late-output', path: config.lateOutput },
      { option: '--reject-output', path: config.rejectOutput },
    ],
    config.inputs.map((input) => (input.kind === 'file' ? input.path : '-')),
    config.db,
  );
  const store = await openStore(config.db);
  try {
    let job: StreamJob | null = null;
    // Each publication says its revision and whether it is final, as watch does: json fields, two trailing
    // tsv/csv columns (the first four stay where cut and awk expect them), the text/table heading.
    const columns = valueColumns(config.quantiles);
    const output = new ResultOutput(config.output, () => job?.stop('EPIPE'), PUBLICATION_MARKS, () => columns);
    const lateFile = config.lateOutput === null ? null : openAppendOutput(config.lateOutput);
    const rejectFile = config.rejectOutput === null ? null : openAppendOutput(config.rejectOutput);
    // Counting files on a terminal: how far, and how fast; never on a pipe nor with --quiet.
    const bar = config.output.quiet ? null : progressBar();
    let metrics: MetricsServer | null = null;
    job = new StreamJob(config, {
      store,
      clock: clockFromEnv(),
      publish: (result) => {
        bar?.clear();
        output.publish(result);
        metrics?.exposition.published(result.state === 'final');
      },
      ...(config.metrics === null ? {} : { commitTimed: (seconds: number) => metrics?.exposition.commitTimed(seconds) }),
      ...(bar === null ? {} : { progress: bar.update }),
      note,
      pid: process.pid,
      liveness: localLiveness(config.workerTimeoutMs),
      ...(lateFile === null ? {} : { late: (line: string) => lateFile.write(`${line}\n`) }),
      ...(rejectFile === null
        ? {}
        : {
            reject: (reason: RejectReason, source: string, offset: number, line: Buffer | string) =>
              rejectFile.write(formatReject(reason, source, offset, line)),
          }),
    });
    const running = job;
    if (config.metrics !== null) {
      // Loaded only when asked for: other runs never load the HTTP server or prom-client.
      const { serveMetrics } = await import('../metrics.js');
      metrics = await serveMetrics(config.metrics, config.job, () => running.metrics());
      if (!config.output.quiet) note(`metrics on ${metrics.address}`);
    }
    const signals = trapStopSignals((signal) => running.stop(signal), forceExit);
    try {
      const summary = await running.run();
      bar?.clear();
      await finishAll([output, lateFile, rejectFile]);
      if (summary.duplicates > 0) {
        note(`skipped ${summary.duplicates} duplicate record${summary.duplicates === 1 ? '' : 's'} (--dedupe)`);
      }
      if (summary.late > 0) {
        note(
          `${summary.late} late record${summary.late === 1 ? '' : 's'} (their windows were already finalized)` +
            (config.lateOutput === null ? '' : `, written to ${config.lateOutput}`),
        );
      }
      const rejected = REJECT_REASONS.map((reason) => [reason, summary.rejected.get(reason) ?? 0] as const).filter(
        ([, n]) => n > 0,
      );
      if (rejected.length > 0) {
        const total = rejected.reduce((sum, [, n]) => sum + n, 0);
        const counts = rejected.map(([reason, n]) =>
          reason === 'line too long' ? `${n} ${reason}: raise --max-line-bytes, now ${config.maxLineBytes}` : `${n} ${reason}`,
        );
        note(
          `rejected ${total} record${total === 1 ? '' : 's'} (${counts.join(', ')})` +
            (config.rejectOutput === null ? '' : `, written to ${config.rejectOutput}`),
        );
      }
      // Last, after the summary of what was counted before it.
      if (summary.failedInput !== null) throw summary.failedInput;
      return exitCodeAfter(summary.stoppedBy);
    } finally {
      signals.release();
      await metrics?.close();
    }
  } finally {
    await store.close();
  }
}

/** Finishes every output, even after one failed (each flushes and closes its file); then throws the first failure. */
async function finishAll(outputs: ReadonlyArray<{ finish(): Promise<void> } | null>): Promise<void> {
  const failures: unknown[] = [];
  for (const output of outputs) await output?.finish().catch((err: unknown) => failures.push(err));
  if (failures.length > 0) throw failures[0];
}

/**
 * --late-output, --reject-output: an append-only file; a write failure surfaces at the end as a runtime error.
 * The lines of one turn of the event loop (one chunk of input) go out in one write, not one each.
 */
function openAppendOutput(path: string): { write: (text: string) => void; finish: () => Promise<void> } {
  const out = new FdWriter(openOutputFile(path, 'a'));
  let pending = '';
  const flush = () => {
    if (pending !== '') out.write(pending);
    pending = '';
  };
  return {
    write: (text) => {
      if (pending === '') setImmediate(flush);
      pending += text;
    },
    finish: async () => {
      flush();
      const failure = out.close();
      if (failure !== null) throw cannotWrite(path, failure);
    },
  };
}

/** STATESYNC_NOW pins the processing-time clock's starting point (for tests and reproducible runs). */
function clockFromEnv(): Clock {
  const pinned = process.env.STATESYNC_NOW;
  if (pinned === undefined || pinned === '') return systemClock;
  return clockStartingAt(parseInstant(pinned, 'STATESYNC_NOW'));
}
