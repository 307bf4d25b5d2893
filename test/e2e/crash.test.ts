/**
 * Recovery, as Bytewax tests it: SIGKILL a real `statesync count FILE --db`
 * at several points, rerun the same command each time, and require the final
 * state to be the uninterrupted result, exactly.
 */
import { existsSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  committedOffset,
  countDifferences,
  integrityCheck,
  queryTotals,
  runCli,
  seededRandom,
  sleep,
  spawnCli,
  status,
  total,
  useTempDir,
  waitFor,
  wordCounts,
  wordsBefore,
} from './helpers.js';

const TARGET_BYTES = 8 * 1024 * 1024;
const SEED = 0x5eed_2024;

/**
 * About 8 MB of lines drawn from a 3000-word vocabulary that includes
 * multi-byte UTF-8 (accents, CJK, emoji, combining marks, a no-break space
 * inside a word), separated by spaces, tabs, runs of blanks, VT and FF; some
 * lines end in CRLF, some are empty or blank, and the last has no newline.
 */
function generateCorpus(random: () => number): string {
  const flavours = ['', 'é', 'ß', '日本語', '😀', 'Ωμέγα', 'e\u0301', 'no\u00a0break', "'s", ',', '-x'];
  const vocabulary: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const base = `w${i.toString(36)}`;
    vocabulary.push(i % 7 === 0 ? `${base}${flavours[(i / 7) % flavours.length]}` : base);
  }
  const separators = [' ', ' ', ' ', ' ', '\t', '  ', ' \t ', '\v', '\f'];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const lines: string[] = [];
  let bytes = 0;
  while (bytes < TARGET_BYTES) {
    const roll = random();
    let line: string;
    if (roll < 0.01) line = '';
    else if (roll < 0.02) line = ' \t ';
    else {
      const n = 1 + Math.floor(random() * 12);
      line = random() < 0.05 ? ' ' : '';
      for (let i = 0; i < n; i++) line += (i > 0 ? pick(separators) : '') + pick(vocabulary);
    }
    line += random() < 0.15 ? '\r\n' : '\n';
    lines.push(line);
    bytes += Buffer.byteLength(line);
  }
  lines.push('the last line has no newline ωmega-unterminated');
  return lines.join('');
}

type Round = { readonly kind: 'early'; readonly delayMs: number } | { readonly kind: 'progress'; readonly targetOffset: number; readonly jitterMs: number };

describe('count FILE --db survives SIGKILL at any point', () => {
  const tmp = useTempDir('crash');
  let file: string;
  let bytes: Buffer;
  let truth: Map<string, number>;
  /** Bytes up to the last newline, and their words: the unterminated last line waits for its newline. */
  let complete: number;
  let truthComplete: Map<string, number>;

  beforeAll(async () => {
    file = tmp.path('corpus.txt');
    const text = generateCorpus(seededRandom(SEED));
    bytes = Buffer.from(text, 'utf8');
    await writeFile(file, bytes);
    truth = wordCounts(text);
    complete = bytes.lastIndexOf(0x0a) + 1;
    truthComplete = wordCounts(bytes.subarray(0, complete).toString('utf8'));
  });
  it('resumes after every kill and ends with the exact word counts', async () => {
    const db = tmp.path('state.db');
    // One counting thread: its pace leaves room for kills all over the file; counting threads
    // (the default on several cores) have their own kill sweep in threads.test.ts.
    const args = ['count', file, '--db', db, '--window', '1d', '--commit-interval', '20ms', '--quiet', '--threads', '1'];
    const size = bytes.length;
    expect(size).toBeGreaterThan(TARGET_BYTES);
    expect(bytes[size - 1]).not.toBe(0x0a);

    // One kill very early (during start-up or the first chunk), then kills once the committed
    // offset passes seeded targets spread over the first three quarters of the file, each after
    // a seeded jitter so they land anywhere in reading, counting or committing.
    const random = seededRandom(SEED + 1);
    const rounds: Round[] = [{ kind: 'early', delayMs: 40 + Math.floor(random() * 200) }];
    for (let i = 0; i < 5; i++) {
      const fraction = 0.05 + i * 0.14 + random() * 0.1;
      rounds.push({ kind: 'progress', targetOffset: Math.floor(size * fraction), jitterMs: Math.floor(random() * 15) });
    }

    let offset = 0;
    const killedMidFile: number[] = [];
    for (const round of rounds) {
      const child = spawnCli(args);
      const done = collect(child);
      child.stdin.end();
      if (round.kind === 'early') {
        // Not a wait for anything: the kill lands at a seeded moment of start-up or the first chunk.
        await sleep(round.delayMs);
      } else {
        const from = offset;
        const reached = await waitFor(
          `offset ${round.targetOffset}`,
          () => {
            if (child.exitCode !== null) return 'exited';
            const now = committedOffset(db);
            return now !== undefined && now > from && now >= round.targetOffset ? 'reached' : undefined;
          },
          20_000,
          2,
        );
        // The seeded jitter is the point: the kill lands anywhere in reading, counting or committing.
        if (reached === 'reached') await sleep(round.jitterMs);
      }
      child.kill('SIGKILL');
      const result = await done;
      if (result.signal !== 'SIGKILL') {
        // It got to the end of the file before the kill: a complete, clean run.
        expect(result.exitCode, result.stderr).toBe(0);
      }

      if (!existsSync(db)) continue; // killed before it created the database
      const st = await status(db);
      const previous = offset;
      offset = st.sources[0]?.offset ?? 0;
      expect(offset, 'a restart never goes backwards').toBeGreaterThanOrEqual(previous);
      expect(offset).toBeLessThanOrEqual(complete);
      if (offset > 0) {
        // Offsets are committed only at line ends, together with exactly the words before them.
        expect(bytes[offset - 1], `offset ${offset} is at a line end`).toBe(0x0a);
      }
      if (st.jobs.length > 0) {
        expect(st.jobs[0]!.records, `records committed with offset ${offset}`).toBe(wordsBefore(bytes, offset));
      }
      if (result.signal === 'SIGKILL' && offset > 0 && offset < complete) killedMidFile.push(offset);
    }
    // The kills really interrupted the file at several different places.
    expect(new Set(killedMidFile).size, `mid-file kill offsets: ${killedMidFile.join(', ')}`).toBeGreaterThanOrEqual(3);

    const finish = await runCli(args);
    expect(finish.exitCode, finish.stderr).toBe(0);
    expect(finish.stdout).toBe('');
    expect(finish.stderr).toMatch(`${size - complete} bytes after the last newline are left for the next run`);

    const afterFinish = await status(db);
    expect(afterFinish.sources).toHaveLength(1);
    expect(afterFinish.sources[0]!.offset).toBe(complete);
    expect(afterFinish.jobs[0]!.records).toBe(total(truthComplete));
    expect(afterFinish.jobs[0]!.rejected).toBe(0);
    expect(afterFinish.jobs[0]!.open_windows).toBe(0);

    const totals = await queryTotals(db);
    expect(countDifferences(totals, truthComplete)).toEqual([]);
    expect(totals.size).toBe(truthComplete.size);

    // Its newline arrives: the last line counts, whole and once.
    await appendFile(file, '\n');
    const last = await runCli(args);
    expect(last.exitCode, last.stderr).toBe(0);
    const afterLast = await status(db);
    expect(afterLast.sources[0]!.offset).toBe(size + 1);
    expect(afterLast.jobs[0]!.records).toBe(total(truth));
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);

    // A rerun over the consumed file adds nothing and says so.
    const again = await runCli(args);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already consumed/);
    const afterAgain = await status(db);
    expect(afterAgain.jobs[0]!.records).toBe(total(truth));
    expect(afterAgain.sources[0]!.offset).toBe(size + 1);
    expect(countDifferences(await queryTotals(db), truth)).toEqual([]);

    expect(integrityCheck(db)).toBe('ok');
  });
});
