/**
 * Golden-file tests of the command line: every folder under fixtures/cli/ is
 * one case (args, stdin, expected stdout / stderr / exit code). The format is
 * described in fixtures/cli/README.md; a new case is a new folder.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, test, type ExpectStatic } from 'vitest';
import { cliEnv } from './support/cli-env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CASES_DIR = join(ROOT, 'fixtures', 'cli');
const BIN = join(ROOT, 'bin', 'statesync.js');
const ENTRY = join(ROOT, 'dist', 'statesync.cjs');
const PROCESS_TIMEOUT_MS = 20_000;

/** The clock start every case runs at; with --window 1d all records share one window. */
const PINNED_NOW = '2026-01-01T00:00:00Z';

interface Run {
  readonly stdout: Buffer;
  readonly stderr: Buffer;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
}

interface Case {
  readonly name: string;
  readonly dir: string;
  readonly args: readonly string[];
  readonly stdin: Buffer;
  /** Variables the case sets on top of cliEnv() and PINNED_NOW, from its `env` file. */
  readonly env: Readonly<Record<string, string>>;
  readonly before: ReadonlyArray<readonly string[]>;
  readonly exit: number;
  readonly stdout: { kind: 'exact'; bytes: Buffer } | { kind: 're'; re: RegExp } | { kind: 'json'; subset: unknown };
  /** null: stderr must be empty. */
  readonly stderr: RegExp | null;
  /** Produced file name -> expected bytes. */
  readonly files: ReadonlyMap<string, Buffer>;
}

const caseNames = existsSync(CASES_DIR)
  ? readdirSync(CASES_DIR)
      .filter((name) => statSync(join(CASES_DIR, name)).isDirectory())
      .sort()
  : [];

/** An `env` file: one NAME=VALUE per line (VALUE may be empty). */
function parseEnv(bytes: Buffer, file: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of chompText(bytes).split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m === null) throw new Error(`${file}: expected NAME=VALUE, got '${line}'`);
    env[m[1]!] = m[2]!;
  }
  return env;
}

function readOptional(dir: string, file: string): Buffer | null {
  const path = join(dir, file);
  return existsSync(path) ? readFileSync(path) : null;
}

/** Text of a control file without its one final newline. */
function chompText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/** A pattern that has to match the whole text, not a part of it. */
function wholeTextPattern(source: string, file: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new Error(`${file}: not a valid regular expression: ${(err as Error).message}`);
  }
}

function loadCase(name: string): Case {
  const dir = join(CASES_DIR, name);
  const where = (file: string) => `fixtures/cli/${name}/${file}`;

  const args = readOptional(dir, 'args');
  if (args === null) throw new Error(`${where('args')} is missing`);

  const exitText = readOptional(dir, 'expected.exit');
  if (exitText === null) throw new Error(`${where('expected.exit')} is missing`);
  const exit = Number(exitText.toString('utf8').trim());
  if (!Number.isInteger(exit)) throw new Error(`${where('expected.exit')} must hold a whole number`);

  const exact = readOptional(dir, 'expected.stdout');
  const re = readOptional(dir, 'expected.stdout.re');
  const json = readOptional(dir, 'expected.stdout.json');
  const given = [exact, re, json].filter((b) => b !== null).length;
  if (given !== 1) {
    throw new Error(`fixtures/cli/${name} needs exactly one of expected.stdout, expected.stdout.re, expected.stdout.json`);
  }
  const stdout: Case['stdout'] =
    exact !== null
      ? { kind: 'exact', bytes: exact }
      : re !== null
        ? { kind: 're', re: wholeTextPattern(chompText(re), where('expected.stdout.re')) }
        : { kind: 'json', subset: JSON.parse(json!.toString('utf8')) as unknown };

  const stderr = readOptional(dir, 'expected.stderr');
  const before = readOptional(dir, 'before');
  const env = readOptional(dir, 'env');
  const files = new Map<string, Buffer>();
  for (const file of readdirSync(dir)) {
    if (file.startsWith('expected.file.')) files.set(file.slice('expected.file.'.length), readFileSync(join(dir, file)));
  }

  return {
    name,
    dir,
    // An empty file is no arguments; otherwise every line (even an empty one) is one argument.
    args: args.length === 0 ? [] : chompText(args).split('\n'),
    stdin: readOptional(dir, 'stdin.txt') ?? Buffer.alloc(0),
    env: env === null ? {} : parseEnv(env, where('env')),
    before:
      before === null
        ? []
        : chompText(before)
            .split('\n')
            .filter((line) => line.trim() !== '')
            .map((line) => line.split('\t')),
    exit,
    stdout,
    stderr: stderr === null ? null : wholeTextPattern(chompText(stderr), where('expected.stderr')),
    files,
  };
}

/** Runs the real entry point the way a user's shell would, with stdout and stderr piped. */
function runCli(args: readonly string[], cwd: string, stdin: Buffer, env: Case['env']): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: cliEnv({ STATESYNC_NOW: PINNED_NOW, ...env }), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROCESS_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    // The CLI may exit (e.g. on a usage error) before reading its stdin; that is not a test failure.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode, signal, timedOut });
    });
    child.stdin.end(stdin);
  });
}

function describeRun(label: string, run: Run): string {
  const status = run.timedOut
    ? `killed after ${PROCESS_TIMEOUT_MS} ms`
    : run.signal !== null
      ? `killed by ${run.signal}`
      : `exit ${run.exitCode}`;
  return `${label}: ${status}\n--- stdout ---\n${run.stdout.toString('utf8')}--- stderr ---\n${run.stderr.toString('utf8')}`;
}

async function check(c: Case, expect: ExpectStatic): Promise<void> {
  const cwd = mkdtempSync(join(tmpdir(), `statesync-${c.name}-`));
  cpSync(c.dir, cwd, { recursive: true });
  const context = `case fixtures/cli/${c.name} (working directory kept at ${cwd})`;

  for (const args of c.before) {
    const run = await runCli(args, cwd, Buffer.alloc(0), c.env);
    expect(run.exitCode, `${context}\n${describeRun(`before: statesync ${args.join(' ')}`, run)}`).toBe(0);
  }

  const run = await runCli(c.args, cwd, c.stdin, c.env);
  const stdoutText = run.stdout.toString('utf8');
  const stderrText = run.stderr.toString('utf8');
  const shown = `${context}\n${describeRun(`statesync ${c.args.join(' ')}`, run)}`;

  expect(run.timedOut, shown).toBe(false);
  switch (c.stdout.kind) {
    case 'exact':
      expect(stdoutText, `stdout of ${context}`).toBe(c.stdout.bytes.toString('utf8'));
      expect(run.stdout.equals(c.stdout.bytes), `stdout of ${context} differs byte for byte`).toBe(true);
      break;
    case 're':
      expect(stdoutText, `stdout of ${context}`).toMatch(c.stdout.re);
      break;
    case 'json': {
      let document: unknown;
      try {
        document = JSON.parse(stdoutText);
      } catch {
        expect.fail(`stdout is not one JSON document; ${shown}`);
      }
      expect(document, `stdout of ${context}`).toMatchObject(c.stdout.subset as object);
      break;
    }
  }
  if (c.stderr === null) expect(stderrText, `stderr of ${context}`).toBe('');
  else expect(stderrText, `stderr of ${context}`).toMatch(c.stderr);
  expect(run.exitCode, `exit code of ${shown}`).toBe(c.exit);

  for (const [file, bytes] of c.files) {
    const path = join(cwd, file);
    expect(existsSync(path), `${context}: statesync did not write ${file}`).toBe(true);
    const produced = readFileSync(path);
    expect(produced.toString('utf8'), `${file} written by ${context}`).toBe(bytes.toString('utf8'));
    expect(produced.equals(bytes), `${file} written by ${context} differs byte for byte`).toBe(true);
  }

  // Only a passing case gets here; a failing one keeps its directory for a look.
  rmSync(cwd, { recursive: true, force: true });
}

describe('statesync CLI fixtures (fixtures/cli/*)', () => {
  beforeAll(() => {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run 'npm run build' first`);
  });

  test('there are cases to run', ({ expect }) => {
    expect(caseNames.length).toBeGreaterThan(0);
  });

  for (const name of caseNames) {
    // Cases share nothing but the built CLI, so they run side by side.
    test.concurrent(name, async ({ expect }) => {
      const c = loadCase(name);
      await check(c, expect);
    }, PROCESS_TIMEOUT_MS * 4);
  }
});
