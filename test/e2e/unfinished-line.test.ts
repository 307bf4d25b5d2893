/**
 * A file whose last line has no newline yet, counted with a durable database
 * and counted again after it grew: the line is counted once, whole.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { queryTotals, runCli, status, tsvTotals, useTempDir } from './helpers.js';

const tmp = useTempDir('unfinished-line');

describe('an unterminated last line with --db', () => {
  it("waits for its newline: printf 'a b\\nc d' then 'ef\\n' counts def, not d and ef", async () => {
    const f = tmp.path('f');
    const db = tmp.path('s.db');
    const args = ['count', f, '--db', db, '--window', '1d', '--format', 'tsv'];
    writeFileSync(f, 'a b\nc d');

    const first = await runCli(args);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(tsvTotals(first.stdout)).toEqual(new Map([['a', 1], ['b', 1]]));
    expect(first.stderr).toBe(`statesync: ${f}: 3 bytes after the last newline are left for the next run\n`);
    expect((await status(db)).sources[0]!.offset).toBe(4);

    // Nothing new but the waiting bytes: said so, not "already consumed", and nothing counted.
    const again = await runCli(args);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe('');
    expect(again.stderr).not.toMatch(/already consumed/);
    expect(again.stderr).toMatch(new RegExp(`${f}: 3 bytes after the last newline are left for the next run\\n$`));

    appendFileSync(f, 'ef\n');
    const grown = await runCli(args);
    expect(grown.exitCode, grown.stderr).toBe(0);
    // The window was published provisional by the first run; this one amends it and prints its next revision, complete.
    expect(tsvTotals(grown.stdout)).toEqual(new Map([['a', 1], ['b', 1], ['c', 1], ['def', 1]]));
    expect(grown.stderr).toBe(`statesync: ${f}: resuming after 4 bytes already committed\n`);

    expect(await queryTotals(db)).toEqual(new Map([['a', 1], ['b', 1], ['c', 1], ['def', 1]]));
    const { sources, jobs } = await status(db);
    expect(sources[0]!.offset).toBe(10);
    expect(jobs[0]!.records).toBe(4);
  });

  it('without a database counts it: nothing would resume', async () => {
    const f = tmp.path('g');
    writeFileSync(f, 'a b\nc d');
    const result = await runCli(['count', f, '--window', '1d', '--format', 'tsv']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(tsvTotals(result.stdout)).toEqual(new Map([['a', 1], ['b', 1], ['c', 1], ['d', 1]]));
  });

  it('on stdin without --source counts it: stdin is not replayed', async () => {
    const db = tmp.path('stdin.db');
    const result = await runCli(['count', '--db', db, '--window', '1d', '--format', 'tsv'], { input: 'a b\nc d' });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(tsvTotals(result.stdout)).toEqual(new Map([['a', 1], ['b', 1], ['c', 1], ['d', 1]]));
  });
});
