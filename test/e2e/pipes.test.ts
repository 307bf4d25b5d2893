/**
 * The ends of a pipeline: a reader that goes away (`statesync ... | head -1`)
 * and a writer that sends one enormous line.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectCounts, generateWordCorpus, tsvTotals, wordCounts } from '../support/counts.js';
import { seededRandom } from '../support/prng.js';
import { waitFor } from '../support/wait.js';
import { binPath, cliEnv, collect, procStatusKb, runCliOk, spawnCli, status, useTempDir, waitUntilIdle, waitUntilRead } from './helpers.js';

const tmp = useTempDir('pipes');

describe('a reader that closes early (EPIPE)', () => {
  let file: string;
  beforeAll(async () => {
    // 50 000 distinct keys: about 3 MB of results, far more than a pipe buffer holds.
    file = tmp.path('distinct.txt');
    let text = '';
    for (let i = 0; i < 50_000; i++) text += `key${i}\n`;
    await writeFile(file, text);
  });

  it('count FILE into a pipe whose reader takes one line and leaves: no stderr, exit 0', async () => {
    const child = spawnCli(['count', file, '--window', '1d']);
    child.stdin.end();
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;

    const firstLine = await new Promise<string>((resolve) => {
      let text = '';
      const onData = (chunk: Buffer) => {
        text += chunk.toString('utf8');
        const nl = text.indexOf('\n');
        if (nl < 0) return;
        child.stdout.off('data', onData);
        child.stdout.destroy(); // like `head -1`: read one line, close the read end
        resolve(text.slice(0, nl));
      };
      child.stdout.on('data', onData);
    });
    expect(firstLine).toMatch(/^\S+Z\t\S+Z\tkey\d+\t1\t1\ttrue$/);

    const [exitCode, signal] = await closed;
    expect(Buffer.concat(stderr).toString('utf8')).toBe('');
    expect(signal).toBeNull();
    expect(exitCode).toBe(0);
  });

  it('statesync count FILE | head -1 in a shell ends quietly', async () => {
    const script = '"$0" "$1" count "$2" 2>"$3" | head -1; echo "exit=${PIPESTATUS[0]}"';
    const errFile = tmp.path('head.stderr');
    const shell = spawn('/bin/bash', ['-c', script, process.execPath, binPath, file, errFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cliEnv(),
    }) as unknown as ChildProcessWithoutNullStreams;
    const result = await collect(shell);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/\tkey\d+\t1\t1\ttrue$/);
    expect(lines[1]).toBe('exit=0');
    expect(await readFile(errFile, 'utf8')).toBe('');
  });
});

describe('every command and a stdout it cannot write: a reader gone ends quietly, a full device is an error', () => {
  let db: string;
  let snap: string;
  let words: string;
  let numbers: string;
  beforeAll(async () => {
    db = tmp.path('quiet.db');
    snap = tmp.path('quiet.snap');
    words = tmp.path('words.txt');
    numbers = tmp.path('numbers.txt');
    let text = '';
    for (let i = 0; i < 20_000; i++) text += `w${i} w${i % 7}\n`;
    await writeFile(words, text);
    await writeFile(numbers, 'a 1\nb 2\na 3\n');
    await runCliOk(['count', words, '--db', db, '--window', '1d', '--quiet']);
    await runCliOk(['snapshot', 'export', '--db', db, '-o', snap]);
  });

  /** Runs the CLI with stdout (and with `merged`, stderr too, as `2>&1`) a pipe whose reader left before the first byte. */
  async function withReaderGone(args: readonly string[], merged = false, input = '') {
    const child = merged
      ? (spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', process.execPath, binPath, ...args], {
          env: cliEnv(),
          stdio: ['pipe', 'pipe', 'pipe'],
        }) as ChildProcessWithoutNullStreams)
      : spawnCli(args);
    child.stdout.destroy();
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const [exitCode, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    return { exitCode, signal, stderr: Buffer.concat(stderr).toString('utf8') };
  }

  const stdoutCases: ReadonlyArray<[string, () => string[], string?]> = [
    ['--help', () => ['--help']],
    ['help snapshot export', () => ['help', 'snapshot', 'export']],
    ['count --help', () => ['count', '--help']],
    ['--version', () => ['--version']],
    ['query', () => ['query', '--db', db]],
    ['query --format json', () => ['query', '--db', db, '--format', 'json']],
    ['watch', () => ['watch', '--db', db]],
    ['watch --follow', () => ['watch', '--db', db, '--follow']],
    ['status', () => ['status', '--db', db]],
    ['status --format json', () => ['status', '--db', db, '--format', 'json']],
    ['snapshot export', () => ['snapshot', 'export', '--db', db]],
    ['snapshot inspect', () => ['snapshot', 'inspect', snap]],
    ['snapshot inspect --format json', () => ['snapshot', 'inspect', snap, '--format', 'json']],
    ['count FILE', () => ['count', words, '--window', '1d']],
    ['sum FILE', () => ['sum', numbers, '--key', 'field=1', '--value', 'field=2', '--window', '1d']],
    ['count from stdin', () => ['count', '--window', '1d'], 'to be or not to be\n'],
  ];

  it.each(stdoutCases)('%s: exit 0, nothing on stderr', async (_name, args, input) => {
    const result = await withReaderGone(args(), false, input);
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.exitCode).toBe(0);
  });

  // Not a reader that left but a device that refuses (`> /dev/full`): the output is lost, so it is an error.
  it.each([...stdoutCases, ['count from stdin, two threads', () => ['count', '--window', '1d', '--threads', '2'], 'to be\n'] as const])(
    '%s > /dev/full: exit 1, one line saying so',
    async (_name, args, input) => {
      const full = openSync('/dev/full', 'w');
      try {
        const child = spawn(process.execPath, [binPath, ...args()], { env: cliEnv(), stdio: ['pipe', full, 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
        child.stdin.on('error', () => undefined);
        child.stdin.end(input ?? '');
        const stderr: Buffer[] = [];
        child.stderr.on('data', (b: Buffer) => stderr.push(b));
        const [exitCode] = (await once(child, 'close')) as [number | null];
        expect([exitCode, Buffer.concat(stderr).toString('utf8')]).toEqual([1, 'statesync: cannot write stdout: no space left on device\n']);
      } finally {
        closeSync(full);
      }
    },
  );

  // `2>&1 | head`: stderr's reader is gone too; the exit code is the command's own, never 1 for that.
  const mergedCases: ReadonlyArray<[string, number, () => string[]]> = [
    ['compact (writes only stderr)', 0, () => ['compact', '--db', db]],
    ['snapshot export -o FILE (a note on stderr)', 0, () => ['snapshot', 'export', '--db', db, '-o', tmp.path('merged.snap')]],
    ['status', 0, () => ['status', '--db', db]],
    ['count FILE with rejected lines', 0, () => ['count', numbers, '--key', 'field=3', '--window', '1d']],
    ['an unknown option', 2, () => ['count', '--bogus']],
    ['a group without its subcommand', 2, () => ['snapshot']],
  ];

  it.each(mergedCases)('2>&1 into a closed pipe, %s: exit %i', async (_name, code, args) => {
    const result = await withReaderGone(args(), true);
    expect(result.stderr).toBe('');
    expect(result.signal).toBeNull();
    expect(result.exitCode).toBe(code);
  });

  it('statesync snapshot export | head -c 10 in a shell ends quietly', async () => {
    const script = '"$0" "$1" snapshot export --db "$2" 2>"$3" | head -c 10; echo; echo "exit=${PIPESTATUS[0]}"';
    const errFile = tmp.path('export-head.stderr');
    const shell = spawn('/bin/bash', ['-c', script, process.execPath, binPath, db, errFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cliEnv(),
    }) as unknown as ChildProcessWithoutNullStreams;
    const result = await collect(shell);
    expect(result.stdout).toBe('STATESYNC-\nexit=0\n');
    expect(await readFile(errFile, 'utf8')).toBe('');
  });
});

describe('inputs a shell hands over', () => {
  it("a shell's process substitution <(...) is read as a file", async () => {
    const script = '"$0" "$1" count <(printf "a b a\\n") --window 1d; echo "exit=$?"';
    const shell = spawn('/bin/bash', ['-c', script, process.execPath, binPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: cliEnv({ STATESYNC_NOW: '2026-01-01T00:00:00Z' }),
    }) as unknown as ChildProcessWithoutNullStreams;
    const result = await collect(shell);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(
      '2026-01-01T00:00:00.000Z\t2026-01-02T00:00:00.000Z\ta\t2\t1\ttrue\n2026-01-01T00:00:00.000Z\t2026-01-02T00:00:00.000Z\tb\t1\t1\ttrue\nexit=0\n',
    );
  });
});

describe('an over-long line on stdin', () => {
  const LONG_LINE_MB = 300;

  /** Runs count --db on stdin, feeds `feed`, and returns the peak RSS (kB) seen just before stdin closes. */
  async function runMeasured(db: string, feed: (stdin: NodeJS.WritableStream) => Promise<number>) {
    const child = spawnCli(['count', '--db', db, '--window', '1d', '--commit-interval', '200ms'], {
      env: { STATESYNC_NOW: '2024-05-01T12:00:00Z' },
    });
    const done = collect(child);
    const baseline = await waitUntilIdle(child, db);
    const written = await feed(child.stdin);
    await waitUntilRead(child, baseline, written);
    const peakKb = procStatusKb(child.pid!, 'VmHWM');
    child.stdin.end();
    const result = await done;
    return { result, peakKb };
  }

  async function write(stdin: NodeJS.WritableStream, chunk: Buffer | string): Promise<void> {
    if (!stdin.write(chunk)) await once(stdin, 'drain');
  }

  it('words on the same line as the over-long run are rejected with it; an unterminated long last line is rejected too', async () => {
    const long = 'x'.repeat(2 * 1024 * 1024);
    const child = spawnCli(['count', '--window', '1d'], { env: { STATESYNC_NOW: '2024-05-01T12:00:00Z' } });
    const done = collect(child);
    child.stdin.end(`a\n${long} ok ok\nb\r\n${long}`);
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      '2024-05-01T00:00:00.000Z\t2024-05-02T00:00:00.000Z\ta\t1\t1\ttrue\n' + '2024-05-01T00:00:00.000Z\t2024-05-02T00:00:00.000Z\tb\t1\t1\ttrue\n',
    );
    expect(result.stderr).toMatch(/rejected 2 records\b.*too long/);
  });

  it(`a ${LONG_LINE_MB} MB line is rejected without being buffered; the stream goes on`, async () => {
    const normal = await runMeasured(tmp.path('normal.db'), async (stdin) => {
      await write(stdin, 'ok ok\n');
      return 6;
    });
    expect(normal.result.exitCode, normal.result.stderr).toBe(0);

    const started = Date.now();
    const long = await runMeasured(tmp.path('long.db'), async (stdin) => {
      // Streamed in 1 MiB pieces of one reused buffer: the test never holds the line either.
      const piece = Buffer.alloc(1 << 20, 'x');
      for (let i = 0; i < LONG_LINE_MB; i++) await write(stdin, piece);
      await write(stdin, '\nok ok\n');
      return LONG_LINE_MB * piece.length + 7;
    });
    const elapsed = Date.now() - started;

    const { result } = long;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('2024-05-01T00:00:00.000Z\t2024-05-02T00:00:00.000Z\tok\t2\t1\tfalse\n');
    const stderrLines = result.stderr.split('\n').filter((line) => line.length > 0);
    expect(stderrLines).toHaveLength(1);
    expect(stderrLines[0]).toMatch(/rejected 1 record\b.*too long/);
    const st = await status(tmp.path('long.db'));
    expect(st.jobs[0]!.records).toBe(2);
    expect(st.jobs[0]!.rejected).toBe(1);

    if (normal.peakKb !== null && long.peakKb !== null) {
      const growthMb = (long.peakKb - normal.peakKb) / 1024;
      expect(growthMb, `peak RSS ${long.peakKb} kB vs ${normal.peakKb} kB normally`).toBeLessThan(64);
    }
    expect(elapsed, `streaming ${LONG_LINE_MB} MB took ${elapsed} ms`).toBeLessThan(15_000);
  });
});

/**
 * stdin a pipe, as a shell gives it (the other tests' spawned stdin is a socket): what the pipe
 * already holds is read without waiting, then a socket reads the rest (src/sources/stdin.ts).
 * The pipe here is a FIFO, so the test holds statesync's pid and its writing end.
 */
describe('stdin from a pipe that a shell would give', () => {
  /** statesync with a FIFO for stdin; `write` and `end` are the pipe's only writer. */
  function spawnOnFifo(args: readonly string[]) {
    const fifo = tmp.path(`stdin-${Math.random().toString(36).slice(2)}.fifo`);
    execFileSync('mkfifo', [fifo]);
    // A reader first (non-blocking, so the open returns), then the writer, which needs a reader.
    const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeEnd = openSync(fifo, constants.O_WRONLY);
    const child = spawn(process.execPath, [binPath, ...args], { env: cliEnv(), stdio: [readEnd, 'pipe', 'pipe'] });
    closeSync(readEnd);
    const done = collect(child as unknown as ChildProcessWithoutNullStreams);
    return {
      child,
      done,
      write: (text: string | Buffer) => writeSync(writeEnd, typeof text === 'string' ? Buffer.from(text) : text),
      end: () => closeSync(writeEnd),
    };
  }

  it('an input already whole in the pipe, and lines that come after a pause, are all counted', async () => {
    const run = spawnOnFifo(['count', '--window', '1d']);
    run.write('a b\nb c\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    run.write('c d\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    run.write('d e\n');
    run.end();
    const result = await run.done;
    expect(result.exitCode, result.stderr).toBe(0);
    expectCounts(tsvTotals(result.stdout), wordCounts('a b\nb c\nc d\nd e\n'));
  });

  it('more than a pipe holds, and gzip text, come through whole', async () => {
    const random = seededRandom(0x919e);
    const text = generateWordCorpus(random, 3_000_000, 5000);
    const big = spawnOnFifo(['count', '--window', '1d']);
    for (let at = 0; at < text.length; at += 1 << 20) big.write(text.subarray(at, at + (1 << 20)));
    big.end();
    const bigResult = await big.done;
    expect(bigResult.exitCode, bigResult.stderr).toBe(0);
    expectCounts(tsvTotals(bigResult.stdout), wordCounts(text.toString('utf8')));

    const head = text.subarray(0, text.indexOf(0x0a, 200_000) + 1);
    const zipped = spawnOnFifo(['count', '--window', '1d']);
    zipped.write(gzipSync(head));
    zipped.end();
    const zippedResult = await zipped.done;
    expect(zippedResult.exitCode, zippedResult.stderr).toBe(0);
    expectCounts(tsvTotals(zippedResult.stdout), wordCounts(head.toString('utf8')));
  });

  it('SIGTERM while `yes` floods the pipe: it stops at once, prints what it counted, exits 143', async () => {
    const shell = spawn('/bin/sh', ['-c', 'yes a b | "$0" "$1" count --window 1d; echo "exit=$?" >&2', process.execPath, binPath], {
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    }) as unknown as ChildProcessWithoutNullStreams;
    const done = collect(shell);
    // statesync is the shell's child whose command line names the bin.
    const statesyncPid = await waitFor('statesync to start', () => {
      const children = readFileSync(`/proc/${shell.pid}/task/${shell.pid}/children`, 'utf8').trim().split(' ').filter(Boolean);
      return children.map(Number).find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(binPath);
        } catch {
          return false;
        }
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const stopped = Date.now();
    process.kill(statesyncPid, 'SIGTERM');
    const result = await done;
    expect(Date.now() - stopped).toBeLessThan(3000);
    expect(result.stderr).toContain('exit=143');
    const totals = tsvTotals(result.stdout);
    expect(totals.get('a')).toBeGreaterThan(0);
    expect(totals.get('a')).toBe(totals.get('b'));
  });

  it('SIGTERM while the pipe is quiet and open: stops at once, prints what it read, exits 143', async () => {
    const run = spawnOnFifo(['count', '--window', '1d']);
    run.write('quiet pipe\n');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const stopped = Date.now();
    run.child.kill('SIGTERM');
    const result = await run.done;
    run.end();
    expect(result.exitCode, result.stderr).toBe(143);
    expect(Date.now() - stopped).toBeLessThan(3000);
    expectCounts(tsvTotals(result.stdout), wordCounts('quiet pipe\n'));
  });
});
