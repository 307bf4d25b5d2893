/**
 * A real terminal for full-screen tests: a tmux session of a fixed size on a
 * tmux server of its own (a private socket, so tests never touch anyone
 * else's tmux), driven with send-keys and read with capture-pane.
 */
import { execFileSync } from 'node:child_process';
import { cliEnv } from './cli-env.js';

let serial = 0;

export class TmuxTerminal {
  private constructor(private readonly socket: string) {}

  /** Starts `command` (run by sh) on a new width x height terminal, in the CLI's test environment plus `env`. */
  static start(command: string, width: number, height: number, env: Readonly<Record<string, string>> = {}): TmuxTerminal {
    const terminal = new TmuxTerminal(`statesync-test-${process.pid}-${++serial}`);
    const environment = cliEnv(env);
    // Started from inside tmux, the test's own session is not this one.
    delete environment.TMUX;
    terminal.tmux(['new-session', '-d', '-s', 'main', '-x', String(width), '-y', String(height), command], environment);
    return terminal;
  }

  /** The screen as text, one line per row (trailing blanks trimmed by tmux). */
  screen(): string {
    return this.tmux(['capture-pane', '-p', '-t', 'main']);
  }

  /** Types keys: tmux key names ('q', 'Tab', 'Up', 'C-c') or literal text. */
  keys(...keys: string[]): void {
    this.tmux(['send-keys', '-t', 'main', ...keys]);
  }

  resize(width: number, height: number): void {
    this.tmux(['resize-window', '-t', 'main', '-x', String(width), '-y', String(height)]);
  }

  /** Whether the cursor is shown (a full-screen program that quit must show it again). */
  cursorVisible(): boolean {
    return this.tmux(['display-message', '-p', '-t', 'main', '#{cursor_flag}']).trim() === '1';
  }

  /** Ends the session and its server (this terminal's own socket only). */
  close(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // Already gone: the command ended and took the session with it.
    }
  }

  private tmux(args: readonly string[], env: NodeJS.ProcessEnv = cliEnv()): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { env, encoding: 'utf8' });
  }
}

/** A word for sh: single-quoted. */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
