import type { ReadStream, WriteStream } from 'node:tty';
import { UsageError } from '../../errors.js';
import { renderTop, type TopView } from '../../sinks/top-screen.js';
import { describeDb, openStore } from '../../state/open.js';
import { localLiveness } from '../liveness.js';
import { exitCodeAfter, trapStopSignals } from '../signals.js';
import { FullScreen, type TopKey } from '../top/terminal.js';
import { TopReader, type TopRead } from '../top/reader.js';
import { requireKnownJob } from './jobs.js';

export interface TopConfig {
  readonly db: string;
  /** The job shown first; null: the first one. */
  readonly job: string | null;
  readonly workerTimeoutMs: number;
  readonly intervalMs: number;
  readonly color: boolean;
}

/** The terminal `top` runs on (process.stdin and process.stdout, when both are terminals). */
export interface TopTerminal {
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
}

/**
 * A full-screen view of the database, read again every interval through the
 * state port (opened read-only, as status and watch do): each job's counters
 * and rate, its workers, its windows not final with the current one's top
 * keys, and the latest publications. q or Ctrl-C quits (exit 0); j/J/Tab
 * switch job; arrows scroll the keys; p pauses reading; a resize redraws.
 */
export async function runTopCommand(config: TopConfig, terminal: TopTerminal): Promise<number> {
  if (!terminal.input.isTTY || !terminal.output.isTTY) {
    throw new UsageError(
      "top needs a terminal; use 'statesync status' for a snapshot (--format json for scripts) or 'statesync watch --follow' for publications as they happen",
    );
  }
  const store = await openStore(config.db, { readOnly: true });
  const screen = new FullScreen(terminal.input as ReadStream, terminal.output as WriteStream);
  let stopped: string | null = null;
  let wake: (() => void) | null = null;
  const stop = (why: string) => {
    stopped ??= why;
    wake?.();
  };
  const signals = trapStopSignals(stop);
  try {
    await requireKnownJob(store, config.job, config.db);
    const reader = new TopReader(store, localLiveness(config.workerTimeoutMs));
    let last: TopRead = { jobs: [], job: null };
    let wanted = config.job;
    let scroll = 0;
    let paused = false;
    let problem: string | null = null;
    const view = (): TopView => ({
      database: describeDb(config.db),
      now: Date.now(),
      intervalMs: config.intervalMs,
      paused,
      problem,
      jobs: last.jobs,
      selected: Math.max(0, last.job === null ? 0 : last.jobs.indexOf(last.job.name)),
      job: last.job,
      scroll,
    });
    const draw = () => screen.draw(renderTop(view(), screen.width, screen.height, config.color));
    const page = () => Math.max(1, screen.height - 20);
    const onKey = (key: TopKey) => {
      if (key === 'quit') return stop('quit');
      if (key === 'pause') paused = !paused;
      else if (key === 'next-job' || key === 'previous-job') {
        const jobs = last.jobs;
        if (jobs.length > 0) {
          const at = last.job === null ? 0 : jobs.indexOf(last.job.name);
          wanted = jobs[(at + (key === 'next-job' ? 1 : jobs.length - 1)) % jobs.length]!;
          scroll = 0;
          // Another job: read it now rather than at the next tick.
          return wake?.();
        }
      } else {
        const keys = last.job?.keys.length ?? 0;
        const by = key === 'up' ? -1 : key === 'down' ? 1 : key === 'page-up' ? -page() : key === 'page-down' ? page() : -scroll;
        scroll = Math.max(0, Math.min(Math.max(0, keys - 1), scroll + by));
      }
      draw();
    };
    screen.enter(onKey, draw);
    // Paused, the screen stands still: only a key or a resize draws it (another job is read at once).
    while (stopped === null) {
      if (!paused || wanted !== last.job?.name) {
        try {
          last = await reader.read(wanted, Date.now());
          wanted = last.job?.name ?? wanted;
          problem = null;
        } catch (err) {
          // A lost server or a locked file for a moment: the last view stays, said on the footer line, and it tries again.
          problem = `cannot read ${describeDb(config.db)}: ${(err as Error).message}; trying again`;
        }
        if (stopped !== null) break;
        draw();
      }
      await new Promise<void>((done) => {
        const timer = setTimeout(done, config.intervalMs);
        wake = () => {
          clearTimeout(timer);
          done();
        };
      });
      wake = null;
    }
    return stopped === 'quit' ? 0 : exitCodeAfter(stopped);
  } finally {
    screen.leave();
    signals.release();
    await store.close();
  }
}
