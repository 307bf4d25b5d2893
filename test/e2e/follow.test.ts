/**
 * `--follow` (like `tail -F`): a followed file keeps being read as it grows,
 * survives rotation (a new file at the path) and truncation, and with `--db`
 * a follower killed with SIGKILL and restarted resumes after the committed
 * offset, neither losing nor repeating a line.
 *
 * Every line written is unique and counted with `--key line`, so a lost line
 * shows as a missing key and a repeated one as a count of 2.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addCounts,
  collect,
  committedOffset,
  expectCounts,
  generateWordCorpus,
  peekDb,
  queryTotals,
  seededRandom,
  sleep,
  sourceStatus,
  spawnCli,
  status,
  textOf,
  tsvTotals,
  useTempDir,
  waitFor,
  waitForSource,
  wordCounts,
  type CliResult,
} from './helpers.js';

const tmp = useTempDir('follow');

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
  return { child, done, stderr: textOf(child.stderr) };
}

const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

describe('--follow', () => {
  it('keeps reading as the file grows, through rotation and truncation: exact totals', async () => {
    const base = tmp.newDir();
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
    /** Once it committed every whole line written so far, its last read ended inside the line being written. */
    const readToTheCut = () =>
      waitFor('the follower to commit every whole line written so far', () => committedOffset(db, null, id) === readFileSync(path).lastIndexOf(0x0a) + 1);

    // Growth, written in pieces cut anywhere (mid-line, mid-character); now and then the
    // follower reads up to a cut before the rest of that line comes.
    const random = seededRandom(11);
    for (let round = 0; round < 3; round++) {
      const data = Buffer.from(lines.make(40), 'utf8');
      for (let at = 0; at < data.length; ) {
        const piece = 1 + Math.floor(random() * 60);
        appendFileSync(path, data.subarray(at, Math.min(data.length, at + piece)));
        at += piece;
        if (random() < 0.1) await readToTheCut();
      }
      await caughtUp(`appended round ${round}`);
    }
    expect(f.child.exitCode).toBeNull();

    // Rotation: the file is renamed away and a new one is created at the path.
    renameSync(path, `${path}.1`);
    writeFileSync(path, lines.make(20));
    await waitFor('the rotation note', () => occurrences(f.stderr(), 'was rotated or truncated') >= 1);
    appendFileSync(path, lines.make(15));
    await caughtUp('the new file after rotation');

    // Truncation in place: its new content is read from its start.
    truncateSync(path, 0);
    await waitFor('the truncation note', () => occurrences(f.stderr(), 'was rotated or truncated') >= 2);
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
    const base = tmp.newDir();
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
    await waitFor('the rotation note', () => f.stderr().includes('was rotated or truncated'));
    await waitForSource(db, 'the new file', (s) => s.offset === size(path));

    f.child.kill('SIGINT');
    const result = await f.done;
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), lines.expected);
  });

  it('a rotation while a commit waits for counting threads: the new file is read from its start, its offset ends at its size', async () => {
    // Readers go on while a commit gathers the threads' tables; a rotation queued then must hold
    // them until the new file's framer exists, or its first chunk lands in the old one.
    const base = tmp.newDir();
    const path = join(base, 'app.log');
    const db = join(base, 'state.db');
    const block = generateWordCorpus(seededRandom(0xf0110), 8_000_000, 2000);
    const truth = wordCounts(block.toString('utf8'));
    writeFileSync(path, 'start\n');
    const child = spawnCli(['count', '--follow', path, '--db', db, '--window', '1d', '--commit-interval', '20ms', '--threads', '2', '--quiet']);
    const done = collect(child, 45_000);
    await waitForSource(db, 'the first line', (s) => s.offset === 6);
    appendFileSync(path, block);
    renameSync(path, `${path}.1`);
    writeFileSync(path, block);
    await waitForSource(db, 'the new file, whole', (s) => s.offset === block.length, 30_000);
    child.kill('SIGTERM');
    expect((await done).exitCode).toBe(143);
    const [source] = await sourceStatus(db);
    // Lines count over the source's life: the first, the old file's block, the new file's.
    const blockLines = block.toString('latin1').split('\n').length - 1;
    expect([source!.offset, source!.lines]).toEqual([block.length, 1 + 2 * blockLines]);
    expectCounts(await queryTotals(db), addCounts(addCounts(new Map([['start', 1]]), truth), truth));
  });

  it('follows several files at once, each its own source', async () => {
    const base = tmp.newDir();
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
    await waitForSource(db, 'b.log grown', (s) => s.source === `file:${b}` && s.offset === size(b));
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
    const base = tmp.newDir();
    const path = join(base, 'app.log');
    const db = join(base, 'state.db');
    const lines = new Lines('k');
    const data = Buffer.from(lines.make(2500), 'utf8');
    writeFileSync(path, '');
    const random = seededRandom(77);
    const args = ['--follow', path, '--db', db, '--commit-interval', '150ms'];

    // The writer appends pieces cut anywhere (mid-line, mid-character), at a steady pace (the
    // pace is the workload, not a wait), for about 4 s.
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

    // Kill and restart it three times while the file grows; each time it stays down until the file has grown.
    const committed = () => committedOffset(db, null, `file:${path}`) ?? 0;
    const runs: string[] = [];
    for (let kill = 0; kill < 3; kill++) {
      const from = committed();
      const f = follower(args);
      if (kill === 1) {
        // Once at the end of its start-up: registered, and (with a 150 ms commit interval) not yet committed.
        await waitFor('the follower to register', () =>
          peekDb(db, (d) => d.prepare('SELECT COUNT(*) FROM workers WHERE pid = ?').pluck().get(f.child.pid) === 1),
        );
      } else {
        // Mostly after a commit of its own, at a seeded moment of its commit interval, so that
        // some bytes it read are not committed yet.
        await waitFor('a commit of the follower', () => committed() > from || from === data.length);
        await sleep(random() * 150);
      }
      f.child.kill('SIGKILL');
      const killed = await f.done;
      expect(killed.signal).toBe('SIGKILL');
      runs.push(killed.stderr);
      const grown = Math.min(data.length, written + 200 + Math.floor(random() * 2000));
      await waitFor('the file to grow while nothing follows it', () => written >= grown);
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
