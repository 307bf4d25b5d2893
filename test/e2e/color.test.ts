/**
 * --color auto on a real terminal: stdout is a pseudo-terminal made by
 * util-linux `script`, so the CLI sees isTTY as a user's shell would give it.
 * (Pipes are covered by the fixture cases color-*.)
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { binPath, cliEnv, useTempDir } from './helpers.js';

/** An SGR colour escape (foreground 30-37, bold); the progress bar's cursor controls are not colour. */
const COLOUR = /\x1b\[(3[0-7]|1)m/;

const tmp = useTempDir('color');
beforeAll(() => writeFileSync(tmp.path('in.txt'), 'to be or not to be\n'));

/** Runs `statesync count in.txt --window 1d ARGS` on a terminal with `env` added; returns what the terminal showed. */
function onTerminal(args: readonly string[], env: Readonly<Record<string, string>>): { text: string; status: number | null } {
  // Colour is what is tested: NO_COLOR only when the case sets it.
  const base = cliEnv();
  delete base.NO_COLOR;
  const command = [process.execPath, binPath, 'count', 'in.txt', '--window', '1d', ...args].map((a) => `'${a}'`).join(' ');
  const run = spawnSync('script', ['-qec', command, '/dev/null'], {
    cwd: tmp.dir,
    env: { ...base, STATESYNC_NOW: '2026-01-01T00:00:00Z', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20_000,
  });
  return { text: run.stdout, status: run.status };
}

describe('--color auto on a terminal', () => {
  it('colours the default table', () => {
    const { text, status } = onTerminal([], {});
    expect(status).toBe(0);
    expect(text).toContain('be');
    expect(text).toMatch(COLOUR);
  });

  it.each([
    ['NO_COLOR=1', { NO_COLOR: '1' }],
    ['FORCE_COLOR=0', { FORCE_COLOR: '0' }],
    ['NO_COLOR=1 FORCE_COLOR=1', { NO_COLOR: '1', FORCE_COLOR: '1' }],
  ])('%s: no colour', (_name, env) => {
    const { text, status } = onTerminal([], env);
    expect(status).toBe(0);
    expect(text).toContain('be');
    expect(text).not.toMatch(COLOUR);
  });

  it('--color never: no colour on a terminal', () => {
    const { text } = onTerminal(['--color', 'never', '--format', 'text'], {});
    expect(text).toContain('be');
    expect(text).not.toMatch(COLOUR);
  });
});
