/**
 * `statesync top` on a real terminal (tmux, test/support/tmux.ts) against a
 * live worker: a `count --listen` fed through a socket, on SQLite and on
 * PostgreSQL. The screen shows the job, the worker and the open window's
 * keys, new keys after more input; j switches job, p pauses, a resize
 * redraws, q quits with exit 0 and gives the shell's screen and cursor back.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../support/pg.js';
import { shellQuote, TmuxTerminal } from '../support/tmux.js';
import { binPath, collect, runCli, spawnCli, textOf, useTempDir, waitFor, type CliResult } from './helpers.js';

const tmp = useTempDir('top');
const terminals: TmuxTerminal[] = [];
afterEach(() => {
  for (const t of terminals.splice(0)) t.close();
});

/** A worker of job `words` listening on a free port, and a client connected to it. */
async function startWorker(db: string) {
  const child = spawnCli(['count', '--listen', '0', '--db', db, '--job', 'words', '--window', '1h', '--commit-interval', '200ms']);
  const done = collect(child, 90_000);
  const stderr = textOf(child.stderr);
  const port = await Promise.race([
    waitFor('the worker to listen', () => /^statesync: listening on 127\.0\.0\.1:(\d+)$/m.exec(stderr())?.[1], 20_000, 20),
    done.then((r: CliResult) => {
      throw new Error(`the worker exited ${r.exitCode}: ${r.stderr}`);
    }),
  ]);
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ port: Number(port), host: '127.0.0.1' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
  return { child, done, socket };
}

/** `top` in a fresh terminal; the shell writes its exit code to a file and stays, so the screen can be read after. */
function startTop(db: string, exitFile: string, width = 100, height = 30): TmuxTerminal {
  const top = `${shellQuote(process.execPath)} ${shellQuote(binPath)} top --db ${shellQuote(db)} --job words --interval 200ms`;
  const terminal = TmuxTerminal.start(`echo shell-before-top; ${top}; echo EXIT=$? > ${shellQuote(exitFile)}; sleep 60`, width, height);
  terminals.push(terminal);
  return terminal;
}

const shows = (terminal: TmuxTerminal, what: string, test: (screen: string) => boolean) =>
  waitFor(`top to show ${what}`, () => {
    const screen = terminal.screen();
    return test(screen) ? screen : undefined;
  }, 20_000, 50).catch((err: Error) => {
    throw new Error(`${err.message}; the screen:\n${terminal.screen()}`);
  });

/** The last non-blank row of the screen, and how many rows it has. */
const rows = (screen: string) => screen.replace(/\n+$/, '').split('\n');

async function liveView(db: string, withSecondJob: boolean) {
  const worker = await startWorker(db);
  worker.socket.write('alpha beta alpha\n');
  if (withSecondJob) {
    const other = await runCli(['count', '--db', db, '--job', 'other', '--key', 'line', '--quiet'], { input: 'one line\n' });
    expect(other.exitCode, other.stderr).toBe(0);
  }
  const exitFile = tmp.path(`exit-${Math.random().toString(36).slice(2)}`);
  const terminal = startTop(db, exitFile);
  const first = await shows(terminal, 'the job, the worker and the keys', (s) => /^\s+2\s+alpha$/m.test(s) && /^\s+1\s+beta$/m.test(s));
  expect(first).toMatch(/^statesync top {2}/m);
  expect(first).toContain('words  count window=1h key=word time=processing');
  expect(first).toMatch(new RegExp(`^  [0-9a-f]{8} +\\S+ +${worker.child.pid} +alive +\\d`, 'm'));
  expect(first).toMatch(/^ {2}\d\d:00:00\.\.\d\d:00:00 {2}open {2}ends in /m);

  worker.socket.write('gamma delta gamma gamma\n');
  await shows(terminal, 'the new keys', (s) => /^\s+3\s+gamma$/m.test(s) && /^\s+1\s+delta$/m.test(s));
  return { worker, terminal, exitFile };
}

describe('statesync top', () => {
  it('shows a live worker on SQLite: job, worker, keys as they come; switches job, pauses, redraws on resize, q exits 0', async () => {
    const db = tmp.newDb();
    const { worker, terminal, exitFile } = await liveView(db, true);

    // Jobs in name order: --job words showed the second; j goes on to the first, Tab back.
    expect(terminal.screen()).toContain('job 2/2  words');
    terminal.keys('j');
    await shows(terminal, 'the other job', (s) => s.includes('job 1/2  other  count window=5s key=line'));
    terminal.keys('Tab');
    await shows(terminal, 'the job of the worker again', (s) => s.includes('job 2/2  words'));

    // Paused, nothing redraws by itself: only the resize can put the footer on the new last row.
    terminal.keys('p');
    await shows(terminal, 'that it is paused', (s) => rows(s).at(-1)!.startsWith('PAUSED'));
    terminal.resize(120, 40);
    const bigger = await shows(terminal, 'the footer on row 40', (s) => rows(s).length === 40 && rows(s).at(-1)!.startsWith('PAUSED'));
    // The header's clock moved to the new right edge.
    expect(rows(bigger)[0]!.trimEnd().length).toBeGreaterThan(110);
    terminal.resize(60, 18);
    const smaller = await shows(terminal, 'the footer on row 18', (s) => rows(s).length === 18 && rows(s).at(-1)!.startsWith('PAUSED'));
    for (const line of rows(smaller)) expect(line.length).toBeLessThanOrEqual(60);

    terminal.keys('q');
    const exited = await waitFor('top to exit', () => {
      try {
        return readFileSync(exitFile, 'utf8');
      } catch {
        return undefined;
      }
    });
    expect(exited).toBe('EXIT=0\n');
    // The shell's screen is back (top drew on the alternate screen), with its cursor.
    const after = terminal.screen();
    expect(after).toContain('shell-before-top');
    expect(after).not.toContain('statesync top');
    expect(terminal.cursorVisible()).toBe(true);

    worker.socket.end();
    worker.child.kill('SIGTERM');
    expect((await worker.done).exitCode).toBe(143);
  });

  it('shows a live worker on PostgreSQL the same way, and q exits 0', async () => {
    const url = await freshDatabaseUrl();
    const { worker, terminal, exitFile } = await liveView(url, false);
    expect(terminal.screen()).toContain('job 1/1  words');
    terminal.keys('q');
    await waitFor('top to exit 0', () => {
      try {
        return readFileSync(exitFile, 'utf8') === 'EXIT=0\n';
      } catch {
        return false;
      }
    });
    worker.socket.end();
    worker.child.kill('SIGTERM');
    expect((await worker.done).exitCode).toBe(143);
  });

  it('refuses to run without a terminal, in one line pointing to status and watch --follow (exit 2)', async () => {
    const db = tmp.newDb();
    expect((await runCli(['count', '--db', db, '--quiet'], { input: 'a\n' })).exitCode).toBe(0);
    const result = await runCli(['top', '--db', db]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "statesync: top needs a terminal; use 'statesync status' for a snapshot (--format json for scripts) or 'statesync watch --follow' for publications as they happen\n",
    );
  });
});
