/**
 * gzip files read as their text, with offsets in bytes of text: a run killed
 * part way, a file that gets another member appended, and a file that is
 * truncated then repaired all end with the exact counts of the text.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, createWriteStream, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  collect,
  committedOffset,
  expectCounts,
  generateWordCorpus,
  queryTotals,
  runCli,
  seededRandom,
  spawnCli,
  status,
  total,
  tsvTotals,
  useTempDir,
  waitFor,
  waitUntilIdle,
  waitUntilRead,
  wordCounts,
  wordsBefore,
} from './helpers.js';

const tmp = useTempDir('gzip');

describe('gzip on stdin', () => {
  it('is told even when the first read brings one byte of the magic', async () => {
    const db = tmp.path('split.db');
    const child = spawnCli(['count', '--db', db, '--window', '1d', '--format', 'tsv']);
    const done = collect(child);
    const gz = gzipSync('to be or not to be\n');
    const baseline = await waitUntilIdle(child, db);
    child.stdin.write(gz.subarray(0, 1));
    await waitUntilRead(child, baseline, 1);
    child.stdin.end(gz.subarray(1));
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(tsvTotals(result.stdout)).toEqual(wordCounts('to be or not to be'));
  });
});

describe('gzip through a FIFO named as FILE', () => {
  it('is told by its first read (it cannot be looked at before)', async () => {
    const fifo = tmp.path('fifo');
    execFileSync('mkfifo', [fifo]);
    const child = spawnCli(['count', fifo, '--window', '1d', '--format', 'tsv']);
    const done = collect(child);
    child.stdin.end();
    const writer = createWriteStream(fifo);
    writer.end(gzipSync('to be or not to be\n'));
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(0);
    expect(tsvTotals(result.stdout)).toEqual(wordCounts('to be or not to be'));
  });
});

describe('count FILE.gz --db', () => {
  it('killed part way, rerun: resumes in the text and ends with its exact counts; a new member appended is counted once', async () => {
    const text = generateWordCorpus(seededRandom(0x9a1), 8 * 1024 * 1024, 20_000);
    const file = tmp.path('words.txt.gz');
    writeFileSync(file, gzipSync(text, { level: 6 }));
    const db = tmp.path('kill.db');
    // One counting thread: with threads a commit's batch may take the whole text (the main thread
    // reads ahead while it commits), and the kill must land inside it.
    const args = ['count', file, '--db', db, '--window', '1d', '--commit-interval', '10ms', '--quiet', '--threads', '1'];

    const child = spawnCli(args);
    const done = collect(child);
    child.stdin.end();
    const target = Math.floor(text.length / 4);
    await waitFor('a quarter of the text committed', () => {
      if (child.exitCode !== null) return true;
      const now = committedOffset(db);
      return now !== undefined && now >= target ? true : undefined;
    }, 30_000, 2);
    child.kill('SIGKILL');
    await done;

    const killedAt = (await status(db)).sources[0]!.offset;
    expect(killedAt, 'the kill landed inside the text').toBeLessThan(text.length);
    expect(text[killedAt - 1], 'offsets are line ends in the text').toBe(0x0a);
    expect((await status(db)).jobs[0]!.records).toBe(wordsBefore(text, killedAt));

    const rerun = await runCli(args);
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    expect(rerun.stderr).toBe(`statesync: ${file}: resuming after ${killedAt} bytes of text already committed\n`);
    const truth = wordCounts(text.toString('utf8'));
    expectCounts(await queryTotals(db), truth);
    const after = await status(db);
    expect(after.sources[0]!.offset).toBe(text.length);
    expect(after.jobs[0]!.records).toBe(total(truth));

    // Nothing new: said so in the text's terms (the compressed size means nothing here).
    const again = await runCli(args);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`already consumed by job 'default' \\(${text.length} bytes of text\\); nothing new`));

    // Another member appended (as `gzip >> file.gz` does): only its text is new.
    const more = Buffer.from('appended words\nappended\n');
    appendFileSync(file, gzipSync(more));
    const grown = await runCli(args);
    expect(grown.exitCode, grown.stderr).toBe(0);
    expectCounts(await queryTotals(db), wordCounts(Buffer.concat([text, more]).toString('utf8')));
    expect((await status(db)).sources[0]!.offset).toBe(text.length + more.length);
  });

  it('truncated: counts and commits the lines before the damage, exit 2; repaired, a rerun adds exactly the rest', async () => {
    const text = generateWordCorpus(seededRandom(0x9a2), 2 * 1024 * 1024, 5_000);
    const whole = gzipSync(text);
    const file = tmp.path('damaged.gz');
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const db = tmp.path('damaged.db');
    const args = ['count', file, '--db', db, '--window', '1d', '--format', 'tsv'];

    const broken = await runCli(args);
    expect(broken.exitCode).toBe(2);
    const lines = broken.stderr.split('\n').filter((l) => l.length > 0);
    expect(lines).toEqual([
      `statesync: ${file}: truncated or corrupt gzip data (unexpected end of file); the lines before it were counted`,
    ]);
    const { sources, jobs } = await status(db);
    const offset = sources[0]!.offset;
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(text.length);
    expect(text[offset - 1]).toBe(0x0a);
    expect(jobs[0]!.records).toBe(wordsBefore(text, offset));
    expectCounts(await queryTotals(db), wordCounts(text.subarray(0, offset).toString('utf8')));

    // The same file (same inode) written whole: the rerun resumes in its text.
    writeFileSync(file, whole);
    const repaired = await runCli(args);
    expect(repaired.exitCode, repaired.stderr).toBe(0);
    expectCounts(await queryTotals(db), wordCounts(text.toString('utf8')));
    expect((await status(db)).sources[0]!.offset).toBe(text.length);
  });

  it('trailing garbage after whole members: every line before it is counted, committed and printed, exit 2', async () => {
    // As `zcat` reads it ("trailing garbage ignored"); the file and stdin alike.
    const text = generateWordCorpus(seededRandom(0x9a3), 5 * 1024 * 1024, 5_000);
    const file = tmp.path('trailing.gz');
    writeFileSync(file, Buffer.concat([gzipSync(text), Buffer.from('garbage\n')]));
    const db = tmp.path('trailing.db');
    const fromFile = await runCli(['count', file, '--db', db, '--window', '1d', '--format', 'tsv']);
    expect([fromFile.exitCode, fromFile.stderr]).toEqual([
      2,
      `statesync: ${file}: truncated or corrupt gzip data (incorrect header check); the lines before it were counted\n`,
    ]);
    const truth = wordCounts(text.toString('utf8'));
    expectCounts(tsvTotals(fromFile.stdout), truth);
    expectCounts(await queryTotals(db), truth);
    expect((await status(db)).sources[0]!.offset).toBe(text.length);
    const fromStdin = await runCli(['count', '--window', '1d', '--format', 'tsv'], { input: Buffer.concat([gzipSync(text), Buffer.from('garbage\n')]) });
    expect(fromStdin.exitCode).toBe(2);
    expectCounts(tsvTotals(fromStdin.stdout), truth);
  });
});
