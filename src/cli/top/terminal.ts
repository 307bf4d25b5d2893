import type { ReadStream, WriteStream } from 'node:tty';

export type TopKey = 'quit' | 'next-job' | 'previous-job' | 'up' | 'down' | 'page-up' | 'page-down' | 'home' | 'pause';

const KEYS: ReadonlyArray<readonly [string, TopKey]> = [
  // Longest first: an escape sequence is matched before the ESC alone would be.
  ['\x1b[5~', 'page-up'],
  ['\x1b[6~', 'page-down'],
  ['\x1b[Z', 'previous-job'],
  ['\x1b[A', 'up'],
  ['\x1b[B', 'down'],
  ['\x1b[H', 'home'],
  ['\x1bOA', 'up'],
  ['\x1bOB', 'down'],
  ['\x1bOH', 'home'],
  ['\x03', 'quit'],
  ['q', 'quit'],
  ['Q', 'quit'],
  ['j', 'next-job'],
  ['\t', 'next-job'],
  ['J', 'previous-job'],
  [' ', 'page-down'],
  ['g', 'home'],
  ['p', 'pause'],
  ['P', 'pause'],
];

/** The keys in what a terminal in raw mode sent (one read may hold several); anything else is ignored. */
export function decodeKeys(data: string): TopKey[] {
  const keys: TopKey[] = [];
  let i = 0;
  outer: while (i < data.length) {
    for (const [sequence, key] of KEYS) {
      if (data.startsWith(sequence, i)) {
        keys.push(key);
        i += sequence.length;
        continue outer;
      }
    }
    // An unknown escape sequence is skipped whole (ESC, '[' or 'O', parameters, a final letter or '~').
    const unknown = /^\x1b[[O][0-9;]*[A-Za-z~]?/.exec(data.slice(i));
    i += unknown === null ? 1 : unknown[0].length;
  }
  return keys;
}

/**
 * The terminal as `top` uses it: the alternate screen (the shell's screen
 * comes back as it was), no cursor, keys one at a time (raw mode), and a
 * redraw that overwrites in place instead of clearing (no flicker).
 * `leave()` restores all of it and is safe to call twice.
 */
export class FullScreen {
  private entered = false;
  private onData: ((data: string) => void) | null = null;
  private onResize: (() => void) | null = null;

  constructor(
    private readonly input: ReadStream,
    private readonly output: WriteStream,
  ) {}

  get width(): number {
    return this.output.columns || 80;
  }

  get height(): number {
    return this.output.rows || 24;
  }

  enter(onKey: (key: TopKey) => void, onResize: () => void): void {
    this.entered = true;
    this.output.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J');
    this.input.setRawMode(true);
    this.input.setEncoding('utf8');
    this.onData = (data: string) => {
      for (const key of decodeKeys(data)) onKey(key);
    };
    this.onResize = onResize;
    this.input.on('data', this.onData);
    this.input.resume();
    this.output.on('resize', onResize);
  }

  /** Draws `lines` from the top-left corner, clearing what each line and the screen below them held before. */
  draw(lines: readonly string[]): void {
    this.output.write(`\x1b[H${lines.map((line) => `${line}\x1b[K`).join('\r\n')}\x1b[J`);
  }

  leave(): void {
    if (!this.entered) return;
    this.entered = false;
    this.input.setRawMode(false);
    this.input.pause();
    if (this.onData !== null) this.input.off('data', this.onData);
    if (this.onResize !== null) this.output.off('resize', this.onResize);
    this.output.write('\x1b[?25h\x1b[?1049l');
  }
}
