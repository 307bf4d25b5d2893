/**
 * --threads N (issue 15): counting on N threads gives exactly the results of
 * one thread, on every fixture case of a stream command and on generated
 * corpora (word mode, key specs, numeric reductions; from a file and a pipe,
 * with many commits); a SIGKILL mid-run leaves exact totals after a rerun;
 * processing-time windows still fire on time.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  binPath,
  cliEnv,
  collect,
  type CliResult,
  committedOffset,
  countDifferences,
  generateWordCorpus,
  queryTotals,
  repoRoot,
  runCli,
  seededRandom,
  spawnCli,
  status,
  total,
  tsvTotals,
  useTempDir,
  waitFor,
  wordCounts,
  wordsBefore,
} from './helpers.js';

const tmp = useTempDir('threads');
const PINNED = { STATESYNC_NOW: '2026-01-01T00:00:00Z' };
const STREAM_COMMANDS = new Set(['count', 'sum', 'min', 'max', 'avg']);
const ONE_THREAD_NOTE = /^statesync: counting on one thread: .*\n/m;

/** A fixture case of a stream command, as fixtures/cli/README.md describes it (the parts these tests use). */
interface StreamCase {
  readonly name: string;
  readonly dir: string;
  readonly args: string[];
  readonly before: string[][];
  readonly stdin: Buffer;
  readonly env: Record<string, string>;
}

function streamCases(): StreamCase[] {
  const root = join(repoRoot, 'fixtures', 'cli');
  const cases: StreamCase[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    const read = (file: string) => (existsSync(join(dir, file)) ? readFileSync(join(dir, file)) : null);
    const lines = (file: string) => {
      const text = read(file)?.toString('utf8') ?? null;
      if (text === null || text === '') return null;
      return (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n');
    };
    const args = lines('args');
    if (args === null || !STREAM_COMMANDS.has(args[0]!)) continue;
    const env: Record<string, string> = {};
    for (const line of lines('env') ?? []) {
      const at = line.indexOf('=');
      env[line.slice(0, at)] = line.slice(at + 1);
    }
    cases.push({
      name,
      dir,
      args,
      before: (lines('before') ?? []).map((line) => line.split('\t')),
      stdin: read('stdin.txt') ?? Buffer.alloc(0),
      env,
    });
  }
  return cases;
}

/** Runs `statesync ...args` in `cwd`, as fixture cases run (cli-fixtures.test.ts). */
function runIn(cwd: string, args: readonly string[], env: Record<string, string>, input: Buffer): Promise<CliResult> {
  const child = spawn(process.execPath, [binPath, ...args], { cwd, env: cliEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.on('error', () => undefined);
  const done = collect(child);
  child.stdin.end(input);
  return done;
}

/** Runs a fixture case in a fresh copy of its folder with `extra` arguments: what it printed and the files it left. */
async function runCase(c: StreamCase, extra: readonly string[], copy: string): Promise<string> {
  cpSync(c.dir, copy, { recursive: true });
  const env = { ...PINNED, ...c.env };
  for (const args of c.before) {
    const before = await runIn(copy, args, env, Buffer.alloc(0));
    expect(before.exitCode, before.stderr).toBe(0);
  }
  const run = await runIn(copy, [...c.args, ...extra], env, c.stdin);
  // An order-sensitive job says once that it counts on one thread (tested below); the rest must be equal.
  const stderr = run.stderr.replace(ONE_THREAD_NOTE, '');
  const files = readdirSync(copy)
    .filter((f) => !f.startsWith('state.db'))
    .sort()
    .map((f) => `${f}: ${readFileSync(join(copy, f)).toString('base64')}`);
  return JSON.stringify({ exit: run.exitCode, stdout: run.stdout, stderr, files }).replaceAll(copy, '<case>');
}

describe('--threads gives the results of one thread', () => {
  // A fixture's input fits in one chunk, so 2 threads take the same path as more would (the
  // generated corpora below spread over 4); the suite's time goes where it tells something.
  it.each(streamCases().map((c) => [c.name, c] as const))('fixture case %s, with 2 threads', async (name, c) => {
    const one = await runCase(c, [], tmp.path(`${name}-1`));
    expect(await runCase(c, ['--threads', '2'], tmp.path(`${name}-2`)), '--threads 2').toBe(one);
  });

  describe('a generated corpus', () => {
    let words: Buffer;
    let truth: Map<string, number>;
    let numbers: Buffer;
    let json: Buffer;

    beforeAll(async () => {
      // ~3 MB: a dozen chunks per thread, and lines the key specs reject (no second field).
      words = generateWordCorpus(seededRandom(0x7ead5), 3 * 1024 * 1024, 20_000);
      truth = wordCounts(words.toString('utf8'));
      await writeFile(tmp.path('words.txt'), words);
      const random = seededRandom(0x5eed);
      const lines: string[] = [];
      const jsonLines: string[] = [];
      for (let i = 0; i < 60_000; i++) {
        const key = `k${Math.floor(random() * 500)}`;
        lines.push(`${key} ${Math.floor(random() * 2_000_001) - 1_000_000}`);
        jsonLines.push(random() < 0.01 ? '{"k":' : JSON.stringify({ k: key, n: i }));
      }
      numbers = Buffer.from(`${lines.join('\n')}\n`);
      json = Buffer.from(`${jsonLines.join('\n')}\n`);
      await writeFile(tmp.path('numbers.txt'), numbers);
      await writeFile(tmp.path('records.jsonl'), json);
    });

    /**
     * The same command with 1, 2 and 4 threads (1-day windows unless `args` say otherwise): each run's
     * stdout, stderr and exit code, which must all be equal (but for the note of a job that counts on
     * one thread whatever it is asked).
     */
    async function sameForEveryN(args: readonly string[], input?: Buffer): Promise<string> {
      const runs: string[] = [];
      for (const threads of ['1', '2', '4']) {
        const run = await runCli([args[0]!, '--window', '1d', ...args.slice(1), '--threads', threads], { env: PINNED, ...(input ? { input } : {}) });
        expect(run.exitCode, run.stderr).toBe(0);
        runs.push(JSON.stringify([run.stdout, run.stderr.replace(ONE_THREAD_NOTE, '')]));
      }
      expect(runs[1], '--threads 2').toBe(runs[0]);
      expect(runs[2], '--threads 4').toBe(runs[0]);
      return (JSON.parse(runs[0]!) as [string, string])[0];
    }

    it('word count from a file and from a pipe: exact counts', async () => {
      const fromFile = await sameForEveryN(['count', tmp.path('words.txt')]);
      expect(countDifferences(tsvTotals(fromFile), truth)).toEqual([]);
      expect(await sameForEveryN(['count'], words)).toBe(fromFile);
    });

    it('word count with --ignore-case, and --key line', async () => {
      await sameForEveryN(['count', tmp.path('words.txt'), '--ignore-case']);
      await sameForEveryN(['count', '--key', 'line'], words);
    });

    it('key specs field=N, json= and regex=, with rejections', async () => {
      const field = await sameForEveryN(['count', tmp.path('words.txt'), '--key', 'field=2']);
      expect(field).not.toBe('');
      await sameForEveryN(['count', '--key', 'json=k'], json);
      await sameForEveryN(['count', tmp.path('words.txt'), '--key', 'regex=^\\S+\\s+(v\\w)']);
    });

    it('a key per record (unique lines): threads give way to the reading thread part way, with the same results', async () => {
      // Past 500k records with a new key each, counting goes on without threads (threads/payoff.ts).
      const lines = Array.from({ length: 550_000 }, (_, i) => `request-${i.toString(36)}`);
      const out = await sameForEveryN(['count', '--key', 'line', '--format', 'csv'], Buffer.from(`${lines.join('\n')}\n`));
      expect(out.trimEnd().split('\n')).toHaveLength(lines.length + 1);
    });

    it('sum, min, max and avg', async () => {
      for (const reduction of ['sum', 'min', 'max', 'avg']) {
        await sameForEveryN([reduction, tmp.path('numbers.txt'), '--key', 'field=1', '--value', 'field=2']);
      }
    });

    it('event time with lateness, and --dedupe: the same late records, duplicates and results', async () => {
      // Times wander around a rising clock, so some records arrive after their window closed.
      const random = seededRandom(0x1a7e);
      const lines: string[] = [];
      let clock = Date.parse('2026-01-01T00:00:00Z');
      for (let i = 0; i < 40_000; i++) {
        clock += Math.floor(random() * 20);
        const at = new Date(clock - Math.floor(random() * random() * 8000)).toISOString();
        lines.push(`${at} k${Math.floor(random() * 300)} id${Math.floor(random() * 30_000)}`);
      }
      const input = Buffer.from(`${lines.join('\n')}\n`);
      const eventTime = ['--key', 'field=2', '--time', 'field=1', '--window', '10s', '--lateness', '2s'];
      const late = await sameForEveryN(['count', ...eventTime], input);
      expect(late).not.toBe('');
      await sameForEveryN(['count', '--key', 'field=2', '--dedupe', 'field=3'], input);
      await sameForEveryN(['count', ...eventTime, '--dedupe', 'field=3'], input);
    });

    it('durable: the rejected records stored are exactly the rejected lines, for every N, one commit or many', async () => {
      // Counting threads reject these (the key spec is applied on them); their counts belong to the batch being committed.
      const invalidJson = json.toString('utf8').split('\n').filter((line) => line === '{"k":').length;
      expect(invalidJson).toBeGreaterThan(100);
      for (const interval of ['1h', '20ms']) {
        for (const threads of ['1', '2', '4']) {
          const db = tmp.path(`rejected-${interval}-${threads}.db`);
          const run = await runCli(
            ['count', tmp.path('records.jsonl'), '--key', 'json=k', '--db', db, '--window', '1d', '--commit-interval', interval, '--quiet', '--threads', threads],
            { env: PINNED },
          );
          expect(run.exitCode, run.stderr).toBe(0);
          const job = (await status(db)).jobs[0]!;
          expect([job.records, job.rejected], `--threads ${threads} --commit-interval ${interval}`).toEqual([60_000 - invalidJson, invalidJson]);
        }
      }
    });

    it('durable, committing every 20 ms: the same totals and record count', async () => {
      for (const threads of ['1', '2', '4']) {
        const db = tmp.path(`durable-${threads}.db`);
        const run = await runCli(
          ['count', tmp.path('words.txt'), '--db', db, '--window', '1d', '--commit-interval', '20ms', '--quiet', '--threads', threads],
          { env: PINNED },
        );
        expect(run.exitCode, run.stderr).toBe(0);
        expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
        expect((await status(db)).jobs[0]!.records).toBe(total(truth));
      }
    });
  });
});

describe('a job that counts on one thread', () => {
  it('says so once when more threads were asked for, and not by default nor with --quiet', async () => {
    const input = '2026-01-01T00:00:01Z a\n';
    const args = ['count', '--key', 'field=2', '--time', 'field=1'];
    const asked = await runCli([...args, '--threads', '4'], { input });
    expect(asked.exitCode).toBe(0);
    expect(asked.stderr).toBe('statesync: counting on one thread: event time decides lateness in the order records are read\n');
    const byDefault = await runCli(args, { input });
    expect(byDefault.stderr).toBe('');
    const quiet = await runCli([...args, '--threads', '4', '--quiet'], { input });
    expect(quiet.stderr).toBe('');
  });
});

describe('count FILE --db --threads 2 survives SIGKILL', () => {
  it('resumes after each kill and ends with the exact word counts', async () => {
    // Large enough that a batch, which may take what is read ahead while a commit runs, ends mid-file.
    const bytes = generateWordCorpus(seededRandom(0xc0ffee), 24 * 1024 * 1024, 30_000);
    const file = tmp.path('crash.txt');
    await writeFile(file, bytes);
    const truth = wordCounts(bytes.toString('utf8'));
    const db = tmp.path('crash.db');
    const args = ['count', file, '--db', db, '--window', '1d', '--commit-interval', '20ms', '--quiet', '--threads', '2'];
    const killedAt: number[] = [];
    for (const fraction of [0.15, 0.4, 0.65]) {
      const from = committedOffset(db) ?? 0;
      const child = spawnCli(args);
      const done = collect(child);
      child.stdin.end();
      const reached = await waitFor(
        `offset ${fraction}`,
        () => {
          if (child.exitCode !== null) return 'exited';
          const now = committedOffset(db);
          return now !== undefined && now > from && now >= bytes.length * fraction ? 'reached' : undefined;
        },
        20_000,
        2,
      );
      child.kill('SIGKILL');
      const result = await done;
      if (reached === 'reached' && result.signal === 'SIGKILL') killedAt.push(committedOffset(db)!);
      const offset = committedOffset(db) ?? 0;
      if (offset > 0) expect(bytes[offset - 1], `offset ${offset} is at a line end`).toBe(0x0a);
      // Committed records are exactly the words before the committed offset: nothing counted past it, nothing lost.
      expect((await status(db)).jobs[0]!.records).toBe(wordsBefore(bytes, offset));
    }
    expect(new Set(killedAt).size, `kills mid-file at ${killedAt.join(', ')}`).toBeGreaterThanOrEqual(2);
    const finish = await runCli(args);
    expect(finish.exitCode, finish.stderr).toBe(0);
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);
    expect((await status(db)).jobs[0]!.records).toBe(total(truth));
  });
});

describe('processing-time windows fire on time with --threads 2', () => {
  it('prints each window shortly after its end while stdin is still open', async () => {
    const child = spawnCli(['count', '--window', '1s', '--threads', '2']);
    const done = collect(child);
    const arrivals: Array<{ at: number; end: number; key: string; value: string }> = [];
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const at = Date.now();
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const [, end, key, value] = line.split('\t');
        arrivals.push({ at, end: Date.parse(end!), key: key!, value: value! });
      }
    });
    for (const [text, keys] of [
      ['a b a\n', [['a', '2'], ['b', '1']]],
      ['c c d\n', [['c', '2'], ['d', '1']]],
    ] as const) {
      const seen = arrivals.length;
      child.stdin.write(text);
      await waitFor('a window', () => (arrivals.length >= seen + 2 ? true : undefined), 4000);
      const rows = arrivals.slice(seen, seen + 2);
      expect(rows.map((r) => [r.key, r.value])).toEqual(keys);
      // Printed by the timer, not before its end and soon after (the issue asks for 100 ms; 1 s here, as live.test.ts, for a loaded machine).
      expect(rows[0]!.at).toBeGreaterThanOrEqual(rows[0]!.end);
      expect(rows[0]!.at - rows[0]!.end).toBeLessThan(1000);
      expect(child.exitCode).toBeNull();
    }
    child.stdin.end();
    const result = await done;
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(arrivals).toHaveLength(4);
  });
});
