/**
 * The ends of a pipeline: a reader that goes away (`statesync ... | head -1`)
 * and a writer that sends one enormous line.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  binPath,
  collect,
  killLeftoverChildren,
  makeTempDir,
  procStatusKb,
  spawnCli,
  status,
  waitUntilIdle,
  waitUntilRead,
} from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('pipes'));
});
afterEach(() => killLeftoverChildren());
afterAll(async () => cleanup());

describe('a reader that closes early (EPIPE)', () => {
  let file: string;
  beforeAll(async () => {
    // 50 000 distinct keys: about 3 MB of results, far more than a pipe buffer holds.
    file = join(dir, 'distinct.txt');
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
    expect(firstLine).toMatch(/^\S+Z\t\S+Z\tkey\d+\t1$/);

    const [exitCode, signal] = await closed;
    expect(Buffer.concat(stderr).toString('utf8')).toBe('');
    expect(signal).toBeNull();
    expect(exitCode).toBe(0);
  });

  it.skipIf(!existsSync('/bin/bash'))('statesync count FILE | head -1 in a shell ends quietly', async () => {
    const script = '"$0" "$1" count "$2" 2>"$3" | head -1; echo "exit=${PIPESTATUS[0]}"';
    const errFile = join(dir, 'head.stderr');
    const shell = spawn('/bin/bash', ['-c', script, process.execPath, binPath, file, errFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    }) as unknown as ChildProcessWithoutNullStreams;
    const result = await collect(shell);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/\tkey\d+\t1$/);
    expect(lines[1]).toBe('exit=0');
    expect(await readFile(errFile, 'utf8')).toBe('');
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
      '2024-05-01T00:00:00.000Z\t2024-05-02T00:00:00.000Z\ta\t1\n' + '2024-05-01T00:00:00.000Z\t2024-05-02T00:00:00.000Z\tb\t1\n',
    );
    expect(result.stderr).toMatch(/rejected 2 records\b.*too long/);
  });

  it(`a ${LONG_LINE_MB} MB line is rejected without being buffered; the stream goes on`, async () => {
    const normal = await runMeasured(join(dir, 'normal.db'), async (stdin) => {
      await write(stdin, 'ok ok\n');
      return 6;
    });
    expect(normal.result.exitCode, normal.result.stderr).toBe(0);

    const started = Date.now();
    const long = await runMeasured(join(dir, 'long.db'), async (stdin) => {
      // Streamed in 1 MiB pieces of one reused buffer: the test never holds the line either.
      const piece = Buffer.alloc(1 << 20, 'x');
      for (let i = 0; i < LONG_LINE_MB; i++) await write(stdin, piece);
      await write(stdin, '\nok ok\n');
      return LONG_LINE_MB * piece.length + 7;
    });
    const elapsed = Date.now() - started;

    const { result } = long;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('2024-05-01T00:00:00.000Z\t2024-05-02T00:00:00.000Z\tok\t2\n');
    const stderrLines = result.stderr.split('\n').filter((line) => line.length > 0);
    expect(stderrLines).toHaveLength(1);
    expect(stderrLines[0]).toMatch(/rejected 1 record\b.*too long/);
    const st = await status(join(dir, 'long.db'));
    expect(st.jobs[0]!.records).toBe(2);
    expect(st.jobs[0]!.rejected).toBe(1);

    if (normal.peakKb !== null && long.peakKb !== null) {
      const growthMb = (long.peakKb - normal.peakKb) / 1024;
      expect(growthMb, `peak RSS ${long.peakKb} kB vs ${normal.peakKb} kB normally`).toBeLessThan(64);
    }
    expect(elapsed, `streaming ${LONG_LINE_MB} MB took ${elapsed} ms`).toBeLessThan(15_000);
  });
});
