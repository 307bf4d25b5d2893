/**
 * A terminal as stdin, as in an interactive shell: the real CLI runs on a
 * pseudo-terminal (test/support/pty-run.py, python3's pty module), the test
 * types lines into it and Ctrl-D ends the input.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binPath, cliEnv, repoRoot, textOf, tsvTotals, waitFor } from './helpers.js';

const PTY_RUN = join(repoRoot, 'test', 'support', 'pty-run.py');

const started: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  started.length = 0;
});

/** `statesync ...args` on a fresh terminal; `screen()` is everything shown on it so far, without CRs. */
function onTerminal(args: readonly string[]) {
  const child = spawn('python3', [PTY_RUN, process.execPath, binPath, ...args], { env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  started.push(child);
  const shown = textOf(child.stdout);
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return {
    type: (text: string) => child.stdin.write(text),
    screen: () => shown().replace(/\r/g, ''),
    running: () => child.exitCode === null,
    exited,
  };
}

/** The tsv result rows among the echoed typing. */
const resultRows = (screen: string) =>
  screen
    .split('\n')
    .filter((line) => line.split('\t').length === 6)
    .join('\n');

describe('stdin on a terminal', () => {
  it('counts typed lines, prints each window as it closes, and ends with exit 0 at Ctrl-D', async () => {
    const term = onTerminal(['count', '--window', '1s', '--format', 'tsv']);
    term.type('to be or not to be\n');
    // The first line's window is printed by the timer while the terminal is still open.
    const firstWindow = 'be 2, to 2, not 1, or 1';
    const shownSoFar = () =>
      [...tsvTotals(resultRows(term.screen()))].map(([key, n]) => `${key} ${n}`).join(', ');
    await waitFor('the first window', () => (shownSoFar() === firstWindow || !term.running() ? true : undefined), 15_000);
    expect(term.running(), term.screen()).toBe(true);
    expect(shownSoFar()).toBe(firstWindow);

    term.type('be be\n');
    term.type('\x04');
    expect(await term.exited, term.screen()).toBe(0);
    expect(tsvTotals(resultRows(term.screen()))).toEqual(
      new Map([
        ['be', 4],
        ['to', 2],
        ['not', 1],
        ['or', 1],
      ]),
    );
    expect(term.screen()).not.toMatch(/statesync:/);
  });
});
