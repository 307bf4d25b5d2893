import { CommanderError, type Command } from 'commander';
import { describeCause, StatesyncError } from '../errors.js';
import { isTerminal } from '../sources/terminal.js';
import { buildProgram } from './program.js';
import { stderr, stdout } from './stdio.js';

/**
 * The process boundary: the only place that catches errors, prints them and
 * exits. Every error becomes one line on stderr; stacks only with --debug.
 */
export async function main(argv: readonly string[]): Promise<never> {
  const debug = argv.includes('--debug') || process.env.STATESYNC_DEBUG === '1';
  const stdio = new ProcessStreams();
  const note = (line: string) => stderr.write(`statesync: ${line}\n`);
  let exitCode = 0;
  let program: Command | null = null;
  try {
    program = buildProgram(
      {
        terminal: { stdoutIsTTY: isTerminal(1), env: process.env },
        note,
        forceExit: (code) => process.exit(code),
        setExitCode: (code) => {
          exitCode = code;
        },
      },
      // The command named first is all that needs defining; `help` (not in COMMANDS) needs them all.
      COMMANDS.has(argv[2] ?? '') ? argv[2]! : null,
    );
    if (argv.length <= 2) {
      note(`missing command: one of ${[...COMMANDS].join(', ')} (see 'statesync --help')`);
      exitCode = 2;
    } else {
      await program.parseAsync(argv as string[]);
    }
  } catch (err) {
    // A write into a stdout that failed surfaces here as a plain error; the failure is stdout's, said below.
    exitCode = stdio.stdoutFailedWith(err) ? 0 : reportError(err, debug, note, commandPath(program, argv));
  }
  await stdio.flush();
  if (exitCode === 0 && stdio.stdoutFailure !== null && stdio.stdoutFailure.code !== 'EPIPE') {
    note(`cannot write stdout: ${describeCause(stdio.stdoutFailure)}`);
    exitCode = 1;
  }
  process.exit(exitCode);
}

/**
 * stdout and stderr as this process owns them (./stdio.ts). A stdout reader
 * that went away (EPIPE: `| head`) is no error; commands that stream stop
 * writing (see ResultOutput), the rest end as they would have. Any other
 * stdout failure (`> /dev/full`) is said once at the end. A failing stderr is
 * ignored: there is nowhere left to say anything, and it must not turn the
 * exit code into 1.
 */
class ProcessStreams {
  /** Read from stdout itself: a listener would hear of it a tick later, after a promise chain may have exited. */
  get stdoutFailure(): NodeJS.ErrnoException | null {
    return stdout.failure;
  }

  /** Whether `err` is stdout's own failure coming back from a write (or a write after it). */
  stdoutFailedWith(err: unknown): boolean {
    if (this.stdoutFailure === null || err instanceof StatesyncError) return false;
    const code = (err as NodeJS.ErrnoException | null)?.code;
    return err === this.stdoutFailure || code === this.stdoutFailure.code || code === 'ERR_STREAM_DESTROYED';
  }

  /** Resolves once stdout and stderr have taken everything written so far (or failed). */
  async flush(): Promise<void> {
    await Promise.all([stdout.flush(), stderr.flush()]);
  }
}

function reportError(err: unknown, debug: boolean, note: (line: string) => void, command: string | null): number {
  if (err instanceof CommanderError) return reportCommanderError(err, note, command);
  if (err instanceof StatesyncError) {
    note(err.message);
    if (debug && err.stack) stderr.write(`${err.stack}\n`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  note(`internal error: ${message}${debug ? '' : ' (rerun with --debug for details)'}`);
  if (debug && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  return 1;
}

function reportCommanderError(err: CommanderError, note: (line: string) => void, command: string | null): number {
  if (err.exitCode === 0) return 0; // --help, --version
  // A group named without its subcommand: commander printed the group's help on stderr already.
  if (err.code === 'commander.help') return 2;
  // Commander puts its suggestion on a second line, "(Did you mean --window?)": keep it on the first.
  const message = err.message
    .replace(/^error: /, '')
    .replace(/\n\(Did you mean (.*)\?\)$/, '; did you mean $1?')
    .replace(/\s*\n\s*/g, ' ');
  note(`${message} (see 'statesync${command === null ? '' : ` ${command}`} --help')`);
  return 2;
}

const COMMANDS = new Set(['count', 'sum', 'min', 'max', 'avg', 'quantile', 'distinct', 'query', 'watch', 'status', 'top', 'snapshot', 'compact']);

/** The (sub)command named on the command line, e.g. 'snapshot export', for pointing at its --help. */
function commandPath(program: Command | null, argv: readonly string[]): string | null {
  const names: string[] = [];
  let current = program;
  for (const arg of argv.slice(2).filter((a) => !a.startsWith('-'))) {
    current = current?.commands.find((c) => c.name() === arg) ?? null;
    if (current === null) break;
    names.push(arg);
  }
  return names.length === 0 ? null : names.join(' ');
}
