import { createWriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { finished } from 'node:stream/promises';
import type { StreamConfig } from '../../config.js';
import { cannotWrite } from '../../errors.js';
import { REJECT_REASONS, type RejectReason } from '../../records/framer.js';
import { StreamJob } from '../../pipeline.js';
import { formatReject } from '../../sinks/rejects.js';
import { openStore } from '../../state/open.js';
import type { Liveness } from '../../state/port.js';
import { clockStartingAt, systemClock, type Clock } from '../../windows/tumbling.js';
import { refuseOutputsOverInputs } from '../guards.js';
import { openOutputFile, ResultOutput } from '../output.js';
import { parseInstant } from '../options.js';

const EXIT_BY_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

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
    // Each publication says its revision and whether it is final where that fits: json fields and the
    // text/table heading; tsv and csv keep their four columns for cut and awk (watch shows them too).
    const fields = config.output.format === 'tsv' || config.output.format === 'csv' ? [] : (['revision', 'final'] as const);
    const output = new ResultOutput(config.output, () => job?.stop('EPIPE'), fields);
    const lateFile = config.lateOutput === null ? null : openAppendOutput(config.lateOutput);
    const rejectFile = config.rejectOutput === null ? null : openAppendOutput(config.rejectOutput);
    const bar = config.output.quiet ? null : fileProgressBar();
    job = new StreamJob(config, {
      store,
      clock: clockFromEnv(),
      publish: (result) => {
        bar?.clear();
        output.publish(result);
      },
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
    const stopping = new Set<string>();
    const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
      // A second signal: the user insists. Committed state is consistent; leave now.
      if (stopping.has(signal)) forceExit(EXIT_BY_SIGNAL[signal]);
      stopping.add(signal);
      running.stop(signal);
    };
    const onInt = () => onSignal('SIGINT');
    const onTerm = () => onSignal('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    try {
      const summary = await running.run();
      bar?.clear();
      await output.finish();
      if (lateFile !== null) await lateFile.finish();
      if (rejectFile !== null) await rejectFile.finish();
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
      return summary.stoppedBy === 'SIGINT' || summary.stoppedBy === 'SIGTERM' ? EXIT_BY_SIGNAL[summary.stoppedBy] : 0;
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
  } finally {
    await store.close();
  }
}

/**
 * --late-output, --reject-output: an append-only file; a write failure surfaces at the end as a runtime error.
 * The lines of one turn of the event loop (one chunk of input) go out in one write, not one each.
 */
function openAppendOutput(path: string): { write: (text: string) => void; finish: () => Promise<void> } {
  const stream = createWriteStream('', { fd: openOutputFile(path, 'a') });
  let failure: Error | null = null;
  stream.on('error', (err) => {
    failure = err;
  });
  let pending = '';
  const flush = () => {
    if (pending !== '') stream.write(pending);
    pending = '';
  };
  return {
    write: (text) => {
      if (pending === '') setImmediate(flush);
      pending += text;
    },
    finish: async () => {
      flush();
      if (failure === null && !stream.destroyed) {
        stream.end();
        // A failed last write settles this after the 'error' listener above has recorded it.
        await finished(stream).catch(() => undefined);
      }
      if (failure !== null) throw cannotWrite(path, failure);
    },
  };
}

/**
 * Counting files on a terminal: bytes read of the total and MB/s on stderr,
 * redrawn at most five times a second; never on a pipe (nor with --quiet).
 */
function fileProgressBar(): { update: (label: string, done: number, total: number) => void; clear: () => void } | null {
  if (process.stderr.isTTY !== true) return null;
  const started = Date.now();
  let lastDraw = 0;
  let shown = false;
  return {
    update: (label, done, total) => {
      const now = Date.now();
      if (now - lastDraw < 200 && done < total) return;
      lastDraw = now;
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      const width = 24;
      const filled = Math.round((pct / 100) * width);
      const rate = done / 1e6 / Math.max(0.001, (now - started) / 1000);
      process.stderr.write(
        `\r\x1b[K${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${pct}% ` +
          `${(done / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB ${rate.toFixed(1)} MB/s`,
      );
      shown = true;
    },
    clear: () => {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** Workers on this host are dead once their process is gone; anywhere, once their heartbeat is too old. */
export function localLiveness(timeoutMs: number): Liveness {
  return { host: hostname(), timeoutMs, pidAlive };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** STATESYNC_NOW pins the processing-time clock's starting point (for tests and reproducible runs). */
function clockFromEnv(): Clock {
  const pinned = process.env.STATESYNC_NOW;
  if (pinned === undefined || pinned === '') return systemClock;
  return clockStartingAt(parseInstant(pinned, 'STATESYNC_NOW'));
}
