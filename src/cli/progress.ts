import { isTerminal } from '../sources/terminal.js';

/** A progress bar on stderr: `LABEL [#####   ] 42% 1.0/2.4 MiB 12.3 MB/s`. */
export interface ProgressBar {
  /** `done` of `total` bytes; redrawn at most five times a second, and at the end. */
  update(label: string, done: number, total: number): void;
  /** Wipes the bar, before other output on the same terminal (it is drawn again at the next update). */
  clear(): void;
  /** Leaves the bar as last drawn, on a line of its own. */
  done(): void;
}

const WIDTH = 24;
const REDRAW_MS = 200;

/**
 * The progress bar of every command that shows one: only when stderr is a terminal, else null.
 * process.stderr is made only then: for a pipe it would load node:net (stdio.ts).
 */
export function progressBar(stderr: NodeJS.WriteStream | null = isTerminal(2) ? process.stderr : null): ProgressBar | null {
  if (stderr?.isTTY !== true) return null;
  const started = Date.now();
  let lastDraw = 0;
  let shown = false;
  return {
    update: (label, done, total) => {
      const now = Date.now();
      if (now - lastDraw < REDRAW_MS && done < total) return;
      lastDraw = now;
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      const filled = Math.round((pct / 100) * WIDTH);
      const rate = done / 1e6 / Math.max(0.001, (now - started) / 1000);
      stderr.write(
        `\r\x1b[K${label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${pct}% ` +
          `${(done / 1048576).toFixed(1)}/${(total / 1048576).toFixed(1)} MiB ${rate.toFixed(1)} MB/s`,
      );
      shown = true;
    },
    clear: () => {
      if (shown) stderr.write('\r\x1b[K');
      shown = false;
    },
    done: () => {
      if (shown) stderr.write('\n');
      shown = false;
    },
  };
}
