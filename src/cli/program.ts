import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import type { StreamConfig } from '../config.js';
import {
  DEFAULT_COMMIT_INTERVAL_MS,
  DEFAULT_DEDUPE_TTL_MS,
  DEFAULT_LATENESS_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_LINE_BYTES,
  DEFAULT_QUANTILES,
  DEFAULT_RETAIN_MS,
  DEFAULT_WINDOW_MS,
  DEFAULT_WORKER_TIMEOUT_MS,
  WATCH_POLL_MS,
} from '../defaults.js';
import { UsageError } from '../errors.js';
import type { ReductionName } from '../reducers/reducers.js';
import { formatDuration, parseDuration } from '../windows/duration.js';
import { stderr, stdout } from './stdio.js';
import {
  COLOR_MODES,
  parseInstant,
  parsePositiveInt,
  parseOutputOptions,
  parseStreamOptions,
  requireDb,
  type RawOutputOptions,
  type RawStreamOptions,
  type Terminal,
} from './options.js';

export interface ProgramIO {
  readonly terminal: Terminal;
  /** One diagnostic line to stderr. */
  readonly note: (line: string) => void;
  readonly forceExit: (code: number) => never;
  /** Receives the exit code the command chose. */
  readonly setExitCode: (code: number) => void;
}

/** Set by the single-executable bundle (esbuild define); the npm build reads package.json. */
declare const STATESYNC_VERSION: string | undefined;

export function packageVersion(): string {
  if (typeof STATESYNC_VERSION === 'string') return STATESYNC_VERSION;
  const require = createRequire(import.meta.url);
  return (require('../../package.json') as { version: string }).version;
}

/**
 * Builds the commander program; actions parse flags into frozen configs and call the commands.
 * Startup is most of a short run's time, so a run does only what its command needs: with `only`
 * (main.ts passes the command the arguments start with) just that command is defined, not the ~150
 * options of all of them (~5 ms); and each command's module is imported when it runs, so a start
 * loads (and the bundle runs) only the code and Node built-ins of the command asked for.
 */
export function buildProgram(io: ProgramIO, only: string | null = null): Command {
  const program = new Command('statesync')
    .description('Keyed tumbling-window reductions over lines of text, with durable SQLite state.')
    .version(`statesync ${packageVersion()}`, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of errors (or set STATESYNC_DEBUG=1)')
    .helpCommand(false)
    .showSuggestionAfterError(true)
    .exitOverride()
    // main.ts prints commander's errors as one line; help asked for by mistake still goes to stderr.
    // Help and --version go out through stdio.ts like everything else (not loading node:stream for it).
    .configureOutput({ outputError: () => undefined, writeOut: (text) => stdout.write(text), writeErr: (text) => stderr.write(text) })
    .addHelpText('after', TOP_LEVEL_HELP);

  for (const [name, define] of COMMANDS) if (only === null || only === name) define(program, io);
  return program;
}

/** Each command's definition, in the order help lists them. */
const COMMANDS: ReadonlyArray<readonly [string, (program: Command, io: ProgramIO) => void]> = [
  ['count', (program, io) => addStreamCommand(program, 'count', 'count records per key per window (default key: every word)', io)],
  ['sum', (program, io) => addStreamCommand(program, 'sum', 'sum a numeric value per key per window', io)],
  ['min', (program, io) => addStreamCommand(program, 'min', 'smallest numeric value per key per window', io)],
  ['max', (program, io) => addStreamCommand(program, 'max', 'largest numeric value per key per window', io)],
  ['avg', (program, io) => addStreamCommand(program, 'avg', 'exact average of a numeric value per key per window', io)],
  [
    'quantile',
    (program, io) => addStreamCommand(program, 'quantile', 'quantiles of a numeric value per key per window, each within 1% (DDSketch)', io),
  ],
  [
    'distinct',
    (program, io) =>
      addStreamCommand(program, 'distinct', 'number of distinct values per key per window (exact to 1024, then HyperLogLog)', io),
  ],
  ['query', addQueryCommand],
  ['watch', addWatchCommand],
  ['snapshot', addSnapshotCommands],
  ['compact', addCompactCommand],
  ['status', addStatusCommand],
  ['top', addTopCommand],
  ['help', (program) => addHelpCommand(program)],
];

function addQueryCommand(program: Command, io: ProgramIO): void {
  addOutputOptions(
    program
      .command('query')
      .description('print open windows and retained finalized results')
      .option('--db <file|url>', 'the SQLite file or postgres:// URL (default: $STATESYNC_DB)')
      .option('--job <name>', 'only this job')
      .option('--key <key>', 'only rows with this key')
      .option('--window <time>', 'only the window containing this time (ISO-8601, UTC unless zoned, or epoch seconds)'),
  )
    .addHelpText('after', '\nExample:\n  statesync query --db state.db --top 10')
    .action(async (raw: RawOutputOptions & { db?: string; job?: string; key?: string; window?: string }) => {
      const db = requireDb(raw.db, io.terminal.env, 'query');
      const { runQueryCommand } = await import('./commands/query.js');
      io.setExitCode(
        await runQueryCommand({
          db,
          job: raw.job ?? null,
          key: raw.key ?? null,
          at: raw.window === undefined ? null : parseInstant(raw.window, '--window'),
          output: parseOutputOptions(raw, io.terminal),
        }),
      );
    });
}

function addWatchCommand(program: Command, io: ProgramIO): void {
  addOutputOptions(
    program
      .command('watch')
      .description('print finalized results in publication order, each once')
      .option('--db <file|url>', 'the SQLite file or postgres:// URL (default: $STATESYNC_DB)')
      .option('--job <name>', 'only this job')
      .option('--from <seq>', 'start at this publication sequence number', '1')
      .option('--follow', 'keep waiting for new results until interrupted')
      .option('--final', 'only final publications, not provisional revisions'),
  )
    .addHelpText('after', '\nExample:\n  statesync watch --db shared.db --follow')
    .action(async (raw: RawOutputOptions & { db?: string; job?: string; from: string; follow?: boolean; final?: boolean }) => {
      const db = requireDb(raw.db, io.terminal.env, 'watch');
      const { runWatchCommand } = await import('./commands/watch.js');
      io.setExitCode(
        await runWatchCommand({
          db,
          job: raw.job ?? null,
          fromSeq: parsePositiveInt(raw.from, '--from'),
          follow: raw.follow === true,
          finalOnly: raw.final === true,
          pollMs: WATCH_POLL_MS,
          output: parseOutputOptions(raw, io.terminal),
        }),
      );
    });
}

function addSnapshotCommands(program: Command, io: ProgramIO): void {
  const snapshot = program
    .command('snapshot')
    .description('export, restore or inspect a snapshot of the whole state')
    .addHelpText(
      'after',
      '\nExample:\n  statesync snapshot export --db state.db -o state.snap && statesync snapshot restore state.snap --db copy.db',
    );
  snapshot
    .command('export')
    .description('write a consistent point-in-time snapshot while writers keep running')
    .option('--db <file|url>', 'the SQLite file or postgres:// URL (default: $STATESYNC_DB)')
    .option('-o, --output <file>', "snapshot file, or '-' for stdout", '-')
    .addHelpText('after', '\nExample:\n  statesync snapshot export --db state.db -o state.snap')
    .action(async (raw: { db?: string; output: string }) => {
      const db = requireDb(raw.db, io.terminal.env, 'snapshot export');
      const { runSnapshotExport } = await import('./commands/snapshot.js');
      io.setExitCode(await runSnapshotExport(db, raw.output === '-' ? null : raw.output, packageVersion(), io.note));
    });
  snapshot
    .command('restore')
    .description('validate a snapshot, then replace the database state with it atomically')
    .argument('<file>', "the snapshot file, or '-' for stdin")
    .option('--db <file|url>', 'the SQLite file or postgres:// URL to restore into (default: $STATESYNC_DB)')
    .option('--force', 'restore even while live workers use the database')
    .addHelpText('after', '\nExample:\n  statesync snapshot restore state.snap --db fresh.db')
    .action(async (file: string, raw: { db?: string; force?: boolean }) => {
      const db = requireDb(raw.db, io.terminal.env, 'snapshot restore');
      const { runSnapshotRestore } = await import('./commands/snapshot.js');
      io.setExitCode(await runSnapshotRestore(file, db, raw.force === true, io.note));
    });
  snapshot
    .command('inspect')
    .description('print a snapshot\'s header, jobs and counts, and whether it verifies')
    .argument('<file>', 'the snapshot file')
    .addOption(new Option('--format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nExample:\n  statesync snapshot inspect state.snap')
    .action(async (file: string, raw: { format: string }) => {
      const { runSnapshotInspect } = await import('./commands/snapshot.js');
      io.setExitCode(await runSnapshotInspect(file, raw.format === 'json', stdout));
    });
}

function addCompactCommand(program: Command, io: ProgramIO): void {
  program
    .command('compact')
    .description('drop finalized results past retention and expired dedupe ids; shrink the database and WAL')
    .option('--db <file|url>', 'the SQLite file or postgres:// URL (default: $STATESYNC_DB)')
    .option('--retain <duration>', "keep finalized results this long (default: each job's --retain)")
    .addHelpText('after', '\nExample:\n  statesync compact --db state.db --retain 30m')
    .action(async (raw: { db?: string; retain?: string }) => {
      const db = requireDb(raw.db, io.terminal.env, 'compact');
      const retain = raw.retain === undefined ? null : parseDuration(raw.retain, '--retain');
      const { runCompact } = await import('./commands/snapshot.js');
      io.setExitCode(await runCompact(db, retain, io.note));
    });
}

function addStatusCommand(program: Command, io: ProgramIO): void {
  program
    .command('status')
    .description('jobs, sources and offsets, open windows, rejected counts, database and WAL size')
    .option('--db <file|url>', 'the SQLite file or postgres:// URL (default: $STATESYNC_DB)')
    .addOption(new Option('-f, --format <format>', 'text or json').choices(['text', 'json']).default('text'))
    .option('--worker-timeout <duration>', 'a running worker silent this long is shown dead', formatDuration(DEFAULT_WORKER_TIMEOUT_MS))
    .addHelpText('after', '\nExample:\n  statesync status --db state.db --format json')
    .action(async (raw: { db?: string; format: string; workerTimeout: string }) => {
      const db = requireDb(raw.db, io.terminal.env, 'status');
      const timeout = parseDuration(raw.workerTimeout, '--worker-timeout');
      const { runStatusCommand } = await import('./commands/status.js');
      io.setExitCode(await runStatusCommand(db, raw.format === 'json', timeout, stdout, Date.now()));
    });
}

function addTopCommand(program: Command, io: ProgramIO): void {
  program
    .command('top')
    .description('a full-screen live view of jobs, workers, open windows and publications (q quits)')
    .option('--db <file|url>', 'the SQLite file or postgres:// URL (default: $STATESYNC_DB)')
    .option('--job <name>', 'the job shown first (j/J/Tab switch jobs)')
    .option('--interval <duration>', 'how often the view is read again', '1s')
    .option('--worker-timeout <duration>', 'a running worker silent this long is shown dead', formatDuration(DEFAULT_WORKER_TIMEOUT_MS))
    .addOption(new Option('--color <when>', 'colour the view (auto: unless NO_COLOR)').choices(COLOR_MODES).default('auto'))
    .addHelpText('after', '\nExample:\n  statesync top --db state.db')
    .action(async (raw: { db?: string; job?: string; interval: string; workerTimeout: string; color: string }) => {
      const db = requireDb(raw.db, io.terminal.env, 'top');
      const config = {
        db,
        job: raw.job ?? null,
        intervalMs: parseDuration(raw.interval, '--interval'),
        workerTimeoutMs: parseDuration(raw.workerTimeout, '--worker-timeout'),
        color: parseOutputOptions({ color: raw.color }, io.terminal).color,
      };
      // Loaded only for top: no other command pays for the screen.
      const { runTopCommand } = await import('./commands/top.js');
      io.setExitCode(await runTopCommand(config, { input: process.stdin, output: stdout.asStream() }));
    });
}

function addHelpCommand(program: Command): void {
  program
    .command('help')
    .description("show a command's help, like COMMAND --help")
    .argument('[command...]', "a command, e.g. 'count' or 'snapshot export'")
    .addHelpText('after', '\nExample:\n  statesync help snapshot export')
    .action((names: string[]) => {
      let command = program;
      for (const name of names) {
        const sub = command.commands.find((c) => c.name() === name);
        if (sub === undefined) {
          const known = command.commands.map((c) => c.name()).join(', ');
          const own = command === program ? 'commands:' : `${command.name()} has`;
          throw new UsageError(`unknown command '${names.join(' ')}' (${own} ${known || 'no subcommands'})`);
        }
        command = sub;
      }
      command.outputHelp();
    });
}

const TOP_LEVEL_HELP = `
Examples:
  echo "to be or not to be" | statesync count --window 5s
  statesync count access.log --key field=1 --db state.db --quiet
  statesync quantile access.log --key field=7 --value field=11 --q 0.5,0.99 --window 1m
  statesync query --db state.db --top 10
  statesync help count

Exit codes:
  0    success (also when the reader of stdout went away, as in '| head')
  1    runtime failure: I/O, database, a write the disk or the system refused
  2    usage error: unknown option, bad value, job mismatch, corrupt snapshot, port in use
  130  stopped cleanly by SIGINT (Ctrl-C)
  143  stopped cleanly by SIGTERM

Environment:
  STATESYNC_DB     the database when --db is not given
  STATESYNC_NOW    start the processing-time clock at this time (reproducible windows)
  STATESYNC_DEBUG  1: print stack traces of errors, like --debug
  NO_COLOR         set and not empty: no colours with --color auto
  FORCE_COLOR      0: no colours with --color auto; 1, 2 or 3: colours even into a pipe`;

const EXAMPLES: Readonly<Record<ReductionName, string>> = {
  count: 'echo "to be or not to be" | statesync count --window 5s',
  sum: 'statesync sum access.jsonl --key json=user --value json=bytes --time json=ts --window 10s --lateness 5s',
  min: 'statesync min metrics.txt --key field=2 --value field=3 --window 1m',
  max: 'statesync max metrics.txt --key field=2 --value field=3 --time field=1 --window 1m',
  avg: 'statesync avg metrics.txt --key field=2 --value field=3 --time field=1 --window 1m --format json',
  quantile: 'statesync quantile access.log --key field=7 --value field=11 --q 0.5,0.99,0.999 --window 1m',
  distinct: 'statesync distinct access.jsonl --key json=page --value json=user --window 1h --db state.db',
};

function addStreamCommand(program: Command, name: ReductionName, description: string, io: ProgramIO): void {
  const command = program
    .command(name)
    .description(description)
    .argument('[file...]', "input files, read in order; '-' is stdin (default: stdin)")
    .option(
      '-k, --key <spec>',
      name === 'count' ? 'word | line | field=N | json=PATH | regex=RE (default: word)' : 'line | field=N | json=PATH | regex=RE',
    )
    .option('-d, --delimiter <text>', 'field separator for field=N (default: runs of whitespace)')
    .option('-i, --ignore-case', 'fold keys to lower case');
  if (name === 'distinct') command.option('-v, --value <spec>', 'the value counted once per key: field=N | json=PATH | regex=RE');
  else if (name !== 'count') command.option('-v, --value <spec>', 'the number to reduce: field=N | json=PATH | regex=RE');
  if (name === 'quantile') command.option('--q <list>', `quantiles between 0 and 1, comma-separated (default: ${DEFAULT_QUANTILES})`);
  command
    .option('-w, --window <duration>', 'tumbling window size: 250ms, 5s, 1m, 1h30m, 1d', formatDuration(DEFAULT_WINDOW_MS))
    .option('-t, --time <spec>', 'event time from field=N | json=PATH | regex=RE (default: processing time)')
    .option('--time-format <format>', 'auto | epoch-s | epoch-ms | iso8601 (default: auto)')
    .option(
      '--lateness <duration>',
      `event time: how far behind the newest event a record may arrive (default: ${formatDuration(DEFAULT_LATENESS_MS)})`,
    )
    .option('--idle-timeout <duration>', 'event time: after this long without input the watermark follows the clock')
    .option('--late-output <file>', 'event time: append the lines of late records to FILE')
    .option('--db <file|url>', 'durable state: an SQLite file or postgres://USER@HOST:PORT/DB (default: $STATESYNC_DB, else in memory)')
    .option('--job <name>', 'job name; several jobs can share one database', 'default')
    .option('--source <id>', 'stable name for this input, so a rerun resumes where the last commit ended')
    .option('--commit-interval <duration>', 'how often partial results are committed', formatDuration(DEFAULT_COMMIT_INTERVAL_MS))
    .option('--follow', 'keep reading FILEs as they grow, across rotation and truncation (like tail -F)')
    .option('--listen <[host:]port>', 'accept lines from TCP clients (host defaults to 127.0.0.1; port 0 takes a free one)')
    .option('--connect <host:port>', 'read lines from a TCP server, reconnecting when it goes away')
    .option('--max-connections <n>', 'with --listen: refuse clients beyond this many', String(DEFAULT_MAX_CONNECTIONS))
    .option('--dedupe <spec>', 'skip records whose id (field=N | json=PATH | regex=RE) was already applied')
    .option('--dedupe-ttl <duration>', 'how long applied ids are remembered', formatDuration(DEFAULT_DEDUPE_TTL_MS))
    .option('--worker-timeout <duration>', 'a worker without a heartbeat this long is dead to the others', formatDuration(DEFAULT_WORKER_TIMEOUT_MS))
    .option('--retain <duration>', 'how long finalized results stay queryable; older ones are compacted away', formatDuration(DEFAULT_RETAIN_MS))
    .option('--max-line-bytes <n>', 'longer lines are rejected and counted', String(DEFAULT_MAX_LINE_BYTES))
    .option('--reject-output <file>', 'append each rejected line, with its reason, source and byte offset, to FILE')
    .option('--metrics <[host:]port>', 'serve Prometheus /metrics and /healthz over HTTP (host defaults to 127.0.0.1; port 0 takes a free one)')
    .option('--threads <n>', 'threads counting records, the reading thread among them (default: one per core, at most 8; event time, --dedupe and --reject-output count on one)');
  addOutputOptions(command)
    .addHelpText('after', `\nExample:\n  ${EXAMPLES[name]}`)
    .action(async (files: string[], raw: RawStreamOptions) => {
      const config: StreamConfig = parseStreamOptions(name, files, raw, io.terminal);
      const { runStreamCommand } = await import('./commands/stream.js');
      io.setExitCode(await runStreamCommand(config, io.note, io.forceExit));
    });
}

function addOutputOptions(command: Command): Command {
  return command
    .option('-f, --format <format>', 'text | tsv | csv | json | table (default: table on a terminal, else tsv)')
    .option('--top <n>', 'only the N highest rows of each window')
    .option('-o, --output <file>', 'write results to FILE instead of stdout')
    .option('-q, --quiet', 'print no results')
    .addOption(
      new Option('--color <when>', 'colour table and text output (auto: on a terminal, unless NO_COLOR)')
        .choices(COLOR_MODES)
        .default('auto'),
    );
}
