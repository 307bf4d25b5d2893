/**
 * `--follow` (like `tail -F`): a followed file keeps being read as it grows,
 * survives rotation (a new file at the path) and truncation, and with `--db`
 * a follower killed with SIGKILL and restarted resumes after the committed
 * offset, neither losing nor repeating a line.
 *
 * Every line written is unique and counted with `--key line`, so a lost line
 * shows as a missing key and a repeated one as a count of 2.
 */
import { appendFileSync, mkdirSync, realpathSync, renameSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  countDifferences,
  killLeftoverChildren,
  makeTempDir,
  queryTotals,
  seededRandom,
  sleep,
  sourceStatus,
  spawnCli,
  status,
  tsvTotals,
  waitFor,
  waitForSource,
  type CliResult,
} from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await makeTempDir('follow'));
});
afterEach(() => killLeftoverChildren());
afterAll(async () => cleanup());

let counter = 0;
/** A fresh subdirectory of the test's temporary directory. */
function freshDir(): string {
  const sub = join(dir, `case-${++counter}`);
  mkdirSync(sub);
  return realpathSync(sub);
}

function expectCounts(actual: ReadonlyMap<string, number>, expected: ReadonlyMap<string, number>): void {
  const diffs = countDifferences(actual, expected, 20);
  expect(diffs, diffs.join('\n')).toEqual([]);
}

/** Unique lines `tag-000000 ...` (some with multi-byte characters), and the expected count of each. */
class Lines {
  readonly expected = new Map<string, number>();
  private next = 0;
  constructor(private readonly tag: string) {}

  make(n: number): string {
    let text = '';
    for (let i = 0; i < n; i++) {
      const key = `${this.tag}-${String(this.next).padStart(6, '0')}${['', ' é', ' 日本', ' 😀 x'][this.next % 4]!}`;
      this.next++;
      this.expected.set(key, 1);
      text += `${key}\n`;
    }
    return text;
  }
}

const size = (path: string): number => statSync(path).size;

function follower(args: readonly string[]) {
  const child = spawnCli(['count', '--key', 'line', '--window', '1d', '--format', 'tsv', ...args]);
  const done: Promise<CliResult> = collect(child, 45_000);
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  return { child, done, stderr: () => stderr };
}

const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

describe('--follow', () => {
  it('keeps reading as the file grows, through rotation and truncation: exact totals', async () => {
    const base = freshDir();
    mkdirSync(join(base, 'real'));
    symlinkSync(join(base, 'real'), join(base, 'link'));
    const path = join(base, 'link', 'app.log');
    const real = join(base, 'real', 'app.log');
    const db = join(base, 'state.db');
    const lines = new Lines('f');
    writeFileSync(path, lines.make(50));

    const f = follower(['--follow', path, '--db', db, '--commit-interval', '100ms']);
    const id = `file:${real}`;
    const caughtUp = (what: string) => waitForSource(db, what, (s) => s.source === id && s.offset === size(path));
    const first = await caughtUp('the initial content');
    expect(first.kind).toBe('file');

    // Growth, written in pieces cut anywhere (mid-line, mid-character), with pauses.
    const random = seededRandom(11);
    for (let round = 0; round < 3; round++) {
      const data = Buffer.from(lines.make(40), 'utf8');
      for (let at = 0; at < data.length; ) {
        const piece = 1 + Math.floor(random() * 60);
        appendFileSync(path, data.subarray(at, Math.min(data.length, at + piece)));
        at += piece;
        if (random() < 0.1) await sleep(50 + random() * 250);
      }
      await caughtUp(`appended round ${round}`);
    }
    expect(f.child.exitCode).toBeNull();

    // Rotation: the file is renamed away and a new one is created at the path.
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines.make(20));
    await waitFor('the rotation note', () => (occurrences(f.stderr(), 'was rotated or truncated') >= 1 ? true : undefined));
    appendFileSync(path, lines.make(15));
    await caughtUp('the new file after rotation');

    // Truncation in place: its new content is read from its start.
    truncateSync(path, 0);
    await waitFor('the truncation note', () => (occurrences(f.stderr(), 'was rotated or truncated') >= 2 ? true : undefined));
    appendFileSync(path, lines.make(10));
    await caughtUp('the truncated file refilled');

    f.child.kill('SIGINT');
    const result = await f.done;
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), lines.expected);
    expectCounts(await queryTotals(db), lines.expected);
    expect(occurrences(result.stderr, 'was rotated or truncated')).toBe(2);
    const { jobs } = await status(db);
    expect(jobs[0]).toMatchObject({ records: lines.expected.size, rejected: 0, late: 0 });
  });

  it('on rotation reads the rest of the old file before the new one', async () => {
    const base = freshDir();
    const path = join(base, 'app.log');
    const db = join(base, 'state.db');
    const lines = new Lines('r');
    writeFileSync(path, lines.make(30));
    const f = follower(['--follow', path, '--db', db, '--commit-interval', '100ms']);
    await waitForSource(db, 'the initial content', (s) => s.offset === size(path));

    // What a logger and logrotate do: the last lines land in the old file just before and
    // just after it is renamed (the logger still has it open), then a new file appears.
    appendFileSync(path, lines.make(5));
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, lines.make(5));
    writeFileSync(path, lines.make(5));
    await waitFor('the rotation note', () => (f.stderr().includes('was rotated or truncated') ? true : undefined));
    await waitForSource(db, 'the new file', (s) => s.offset === size(path));

    f.child.kill('SIGINT');
    const result = await f.done;
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), lines.expected);
  });

  it('follows several files at once, each its own source', async () => {
    const base = freshDir();
    const a = join(base, 'a.log');
    const b = join(base, 'b.log');
    const db = join(base, 'state.db');
    const lines = new Lines('m');
    writeFileSync(a, lines.make(5));
    writeFileSync(b, lines.make(5));
    const f = follower(['--follow', a, b, '--db', db, '--commit-interval', '100ms']);
    await waitForSource(db, 'a.log', (s) => s.source === `file:${a}` && s.offset === size(a));
    appendFileSync(b, lines.make(5));
    appendFileSync(a, lines.make(5));
    await waitForSource(db, 'a.log grown', (s) => s.source === `file:${a}` && s.offset === size(a));
    // b.log is not waited for with a timeout: its lines must simply be in the totals.
    await sleep(1000);
    const sources = await sourceStatus(db);

    f.child.kill('SIGINT');
    const result = await f.done;
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), lines.expected);
    expect(sources.map((s) => [s.source, s.kind, s.offset]).sort()).toEqual(
      [
        [`file:${a}`, 'file', size(a)],
        [`file:${b}`, 'file', size(b)],
      ].sort(),
    );
  });

  it('killed with SIGKILL and restarted with --db while the file grows: no line lost or repeated', async () => {
    const base = freshDir();
    const path = join(base, 'app.log');
    const db = join(base, 'state.db');
    const lines = new Lines('k');
    const data = Buffer.from(lines.make(2500), 'utf8');
    writeFileSync(path, '');
    const random = seededRandom(77);
    const args = ['--follow', path, '--db', db, '--commit-interval', '150ms'];

    // The writer appends pieces cut anywhere (mid-line, mid-character), at a steady pace, for about 4 s.
    let written = 0;
    const writer = (async () => {
      const rnd = seededRandom(78);
      while (written < data.length) {
        const piece = 1 + Math.floor(rnd() * 250);
        appendFileSync(path, data.subarray(written, Math.min(data.length, written + piece)));
        written = Math.min(data.length, written + piece);
        await sleep(5 + rnd() * 20);
      }
    })();

    // Kill and restart it three times while the file grows; it is down for a while each time.
    const runs: string[] = [];
    for (let kill = 0; kill < 3; kill++) {
      const f = follower(args);
      // Mostly after a commit or two (some read bytes not yet committed), once while it is still starting.
      await sleep(kill === 1 ? 250 : 700 + random() * 500);
      f.child.kill('SIGKILL');
      const killed = await f.done;
      expect(killed.signal).toBe('SIGKILL');
      runs.push(killed.stderr);
      await sleep(100 + random() * 300);
    }
    await writer;
    expect(written).toBe(data.length);

    // The last run catches up with the file, then stops cleanly and prints the totals.
    const last = follower(args);
    const caughtUp = await waitForSource(db, 'the whole file', (s) => s.source === `file:${path}` && s.offset === data.length);
    // The committed line count of the source, summed over all runs, is exact too.
    expect(caughtUp).toMatchObject({ kind: 'file', lines: 2500 });
    last.child.kill('SIGINT');
    const result = await last.done;
    expect(result.exitCode, result.stderr).toBe(130);
    expect(result.stderr).toMatch(/resuming after \d+ bytes already committed/);

    expectCounts(tsvTotals(result.stdout), lines.expected);
    expectCounts(await queryTotals(db), lines.expected);
    const { jobs } = await status(db);
    expect(jobs[0]).toMatchObject({ records: 2500, rejected: 0, late: 0 });
    // At least one of the killed runs had something committed to resume after.
    expect(runs.some((s) => /resuming after \d+ bytes/.test(s)) || /resuming after/.test(result.stderr)).toBe(true);
  });
});
