/**
 * Provisional windows and revisions (issue 13) under SIGKILL: two workers per
 * round over growing files in one hour window, killed at random moments;
 * every (window, revision) is published once, the sequence is gapless, each
 * revision is a complete prefix of the input, and the latest is exact.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addCounts,
  collect,
  countDifferences,
  generateWordCorpus,
  integrityCheck,
  peekDb,
  runCli,
  seededRandom,
  sleep,
  spawnCli,
  status,
  total,
  waitFor,
  wordsBefore,
  useTempDir,
  expectExit,
} from './helpers.js';
import {
  publications,
  rowsOf,
  keyTotals,
  watched,
  queried,
  watchPublications,
  iso,
} from './revision-readers.js';

const tmp = useTempDir('revisions-sweep');

// ---------------------------------------------------------------------------
// 4. SIGKILL sweep: two workers per round over growing files, one hour window
// ---------------------------------------------------------------------------

/** Where a run is killed: after a delay from its start, once it committed a fraction of what is left, or once it committed it all. */
type Kill =
  | { readonly when: 'early'; readonly delayMs: number }
  | { readonly when: 'mid'; readonly fraction: number; readonly jitterMs: number }
  | { readonly when: 'end'; readonly jitterMs: number };

/**
 * A file's corpus with its own key space: generateWordCorpus's words all start
 * with `v`, so with every `v` replaced by the file's tag each key starts with
 * it, and a publication's rows split back into per-file counts.
 */
function taggedCorpus(random: () => number, bytes: number, tag: 'p' | 'q'): Buffer {
  return Buffer.from(generateWordCorpus(random, bytes, 1500).toString('utf8').replaceAll('v', tag), 'utf8');
}

/**
 * The counts of the prefix of `data` ending at a line end with exactly
 * `words` words, for each requested word count (undefined where no line end
 * has that many words before it: a publication that is not a prefix).
 */
function prefixCounts(data: Buffer, wanted: readonly number[]): Map<number, Map<string, number> | undefined> {
  const out = new Map<number, Map<string, number> | undefined>(wanted.map((n) => [n, undefined]));
  const remaining = new Set(wanted);
  const counts = new Map<string, number>();
  let words = 0;
  if (remaining.delete(0)) out.set(0, new Map());
  let lineStart = 0;
  for (let i = 0; i < data.length && remaining.size > 0; i++) {
    if (data[i] !== 0x0a) continue;
    for (const w of data.subarray(lineStart, i + 1).toString('utf8').split(/[ \t\n\r\v\f]+/)) {
      if (w.length === 0) continue;
      counts.set(w, (counts.get(w) ?? 0) + 1);
      words++;
    }
    lineStart = i + 1;
    if (remaining.delete(words)) out.set(words, new Map(counts));
  }
  return out;
}

describe('SIGKILL sweep over growing files in one hour window', () => {
  it('every (window, revision) published once, seq gapless, each revision a complete prefix, the latest exact', async () => {
    const db = join(tmp.dir, 'sweep.db');
    const files = [join(tmp.dir, 'sweep-p.log'), join(tmp.dir, 'sweep-q.log')];
    const tags = ['p', 'q'] as const;
    const H14 = Date.parse('2026-05-04T14:00:00Z');
    const random = seededRandom(0x13_0004);
    const ROUNDS = 4;
    const data = [Buffer.alloc(0), Buffer.alloc(0)];
    for (const f of files) await writeFile(f, '');

    // The plan, drawn up front so the run is the same whatever the scheduling: per round and
    // file, the kills its runs get before one is left to finish.
    const plan: Kill[][][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      plan.push(
        [0, 1].map(() => {
          const kills: Kill[] = [];
          const n = 1 + Math.floor(random() * 2); // 1-2 kills
          for (let k = 0; k < n; k++) {
            const roll = random();
            if (roll < 0.2) kills.push({ when: 'early', delayMs: Math.floor(random() * 250) });
            else if (roll < 0.65) kills.push({ when: 'mid', fraction: 0.05 + random() * 0.5, jitterMs: Math.floor(random() * 5) });
            else kills.push({ when: 'end', jitterMs: Math.floor(random() * 8) });
          }
          return kills;
        }),
      );
    }
    const growth = Array.from({ length: ROUNDS }, () => [0, 1].map(() => 1_500_000 + Math.floor(random() * 1_500_000)));

    // Each run's clock starts a minute after the previous one's: all inside 14:00-15:00.
    let minute = 0;
    const nextNow = () => {
      expect(minute).toBeLessThan(59);
      return iso(H14 + ++minute * 60_000);
    };
    /** File i's committed offset: 0 before the database or its source row exists, undefined while unreadable. */
    const offsetOf = (i: number): number | undefined => {
      if (!existsSync(db)) return 0;
      const sql = 'SELECT offset FROM sources WHERE source LIKE ?';
      return peekDb(db, (d) => (d.prepare(sql).pluck().get(`%${files[i]!}#%`) as number | undefined) ?? 0);
    };
    const committed = (i: number) => waitFor(`the offset of file ${i}`, () => offsetOf(i));

    let kills = 0;
    let midFile = 0;
    /** Kills after a run's last commit, with records no publication holds yet (logged: timing decides). */
    let unpublished = 0;
    const unpublishedCommits = () =>
      peekDb(db, (d) => {
        const records = d.prepare('SELECT records FROM jobs').pluck().get() as number | undefined;
        const rows = d.prepare('SELECT rows FROM results ORDER BY seq DESC LIMIT 1').pluck().get() as string | undefined;
        const published = rows === undefined ? 0 : total(new Map(JSON.parse(rows) as Array<[string, number]>));
        return records !== undefined && records > published;
      }) === true;
    const landed = { early: 0, mid: 0, end: 0 };
    /** Runs `count FILE` on file i until one run finishes, killing runs as the plan says. */
    const runToCompletion = async (i: number, planned: readonly Kill[]): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const start = await committed(i);
        // One counting thread: with threads a commit's batch may take all the file grew by (the main
        // thread reads ahead while it commits), and kills must land mid-file; threads.test.ts kills threaded runs.
        const child: ChildProcessWithoutNullStreams = spawnCli(
          ['count', files[i]!, '--db', db, '--window', '1h', '--commit-interval', '10ms', '--quiet', '--threads', '1'],
          { env: { STATESYNC_NOW: nextNow() } },
        );
        const done = collect(child, 30_000);
        child.stdin.end();
        const kill = planned[attempt];
        if (kill !== undefined) {
          if (kill.when === 'early') await sleep(kill.delayMs);
          else {
            const size = data[i]!.length;
            const target = kill.when === 'mid' ? Math.max(start + 1, Math.floor(start + (size - start) * kill.fraction)) : size;
            await waitFor(
              `file ${i} to commit past ${target}`,
              () => (child.exitCode !== null || (offsetOf(i) ?? 0) >= target ? true : undefined),
              20_000,
              5,
            );
            await sleep(kill.jitterMs);
          }
          child.kill('SIGKILL');
        }
        const result = await done;
        const offset = await committed(i);
        expect(offset, 'a committed offset never goes backwards').toBeGreaterThanOrEqual(start);
        if (offset > 0) expect(data[i]![offset - 1], `offset ${offset} of file ${i} is at a line end`).toBe(0x0a);
        if (result.signal === 'SIGKILL') {
          kills++;
          landed[kill!.when]++;
          if (offset > start && offset < data[i]!.length) midFile++;
          if (offset === data[i]!.length && unpublishedCommits()) unpublished++;
          continue;
        }
        expectExit(result, 0);
        expect(result.stderr).not.toMatch(/late/);
        expect(offset).toBe(data[i]!.length);
        return;
      }
    };
    for (let r = 0; r < ROUNDS; r++) {
      for (const i of [0, 1]) {
        const more = taggedCorpus(random, growth[r]![i]!, tags[i]!);
        await appendFile(files[i]!, more);
        data[i] = Buffer.concat([data[i]!, more]);
      }
      // Both files' workers at once, racing to publish the window they share.
      await Promise.all([0, 1].map((i) => runToCompletion(i, plan[r]![i]!)));
    }
    console.info(`revision sweep: ${kills} kills (${JSON.stringify(landed)}), ${midFile} mid-file after progress, ${unpublished} after the last commit with it unpublished`);
    expect(kills).toBeGreaterThanOrEqual(6);
    expect(midFile).toBeGreaterThanOrEqual(2);

    // The log: seq 1..n, one window, revisions 1..k each once, all provisional.
    const log = await publications(db);
    expect(log.map((p) => p.seq)).toEqual(log.map((_, k) => k + 1));
    expect(new Set(log.map((p) => `${p.window_start}/${p.window_end}`))).toEqual(new Set([`${H14}/${H14 + 3_600_000}`]));
    expect(log.map((p) => p.revision)).toEqual(log.map((_, k) => k + 1));
    expect(log.every((p) => p.final === 0)).toBe(true);
    expect(log.length).toBeGreaterThanOrEqual(ROUNDS);

    // Each revision is complete: per file, exactly the words of a prefix of it ending at a line
    // end, never less than the revision before (no record lost, none counted twice, ever).
    const perFile = log.map((p) => {
      const rows = rowsOf(p);
      return tags.map((tag) => new Map([...rows].filter(([k]) => k.startsWith(tag))));
    });
    for (const [k, p] of perFile.entries()) {
      expect(p[0]!.size + p[1]!.size, `keys of revision ${k + 1}`).toBe(rowsOf(log[k]!).size);
      // A provisional window is published again only when it changed (counts only grow).
      if (k > 0) expect(total(p[0]!) + total(p[1]!), `revision ${k + 1} adds records`).toBeGreaterThan(total(perFile[k - 1]![0]!) + total(perFile[k - 1]![1]!));
    }
    // The ground truth comes out of the same pass: the prefix of each whole file.
    const truth = new Map<string, number>();
    for (const i of [0, 1]) {
      const wanted = perFile.map((p) => total(p[i]!));
      const whole = wordsBefore(data[i]!, data[i]!.length);
      const prefixes = prefixCounts(data[i]!, [...wanted, whole]);
      for (const [k, p] of perFile.entries()) {
        const prefix = prefixes.get(wanted[k]!);
        expect(prefix, `revision ${k + 1}: ${wanted[k]} words of file ${i} are no prefix of it`).toBeDefined();
        expect(countDifferences(p[i]!, prefix!), `revision ${k + 1}, file ${i}`).toEqual([]);
        if (k > 0) expect(wanted[k]!).toBeGreaterThanOrEqual(wanted[k - 1]!);
      }
      expect(prefixes.get(whole), `file ${i} counted whole`).toBeDefined();
      addCounts(truth, prefixes.get(whole)!);
    }

    // The latest revision is the exact count of both files; watch says the same, each publication once.
    expect(countDifferences(rowsOf(log[log.length - 1]!), truth)).toEqual([]);
    const w = watchPublications(await watched(db));
    expect(w.map((p) => [p.seq, p.revision])).toEqual(log.map((p) => [p.seq, p.revision]));
    expect(countDifferences(w[w.length - 1]!.rows, truth)).toEqual([]);
    const q = await queried(db);
    expect(new Set(q.map((r) => r.state))).toEqual(new Set(['provisional']));
    expect(countDifferences(keyTotals(q), truth)).toEqual([]);
    const st = await status(db);
    expect(st.jobs[0]).toMatchObject({ records: total(truth), late: 0, open_windows: 0, provisional_windows: 1 });

    // An hour later a run with nothing new makes it final: the same rows, the next revision.
    const last = await runCli(['count', files[0]!, '--db', db, '--window', '1h', '--quiet'], {
      env: { STATESYNC_NOW: '2026-05-04T15:30:00Z' },
    });
    expectExit(last, 0);
    const after = await publications(db);
    expect(after.slice(0, log.length)).toEqual(log);
    expect(after.slice(log.length).map((p) => [p.seq, p.window_start, p.revision, p.final])).toEqual([
      [log.length + 1, H14, log.length + 1, 1],
    ]);
    expect(countDifferences(rowsOf(after[log.length]!), truth)).toEqual([]);
    expect(integrityCheck(db)).toBe('ok');
  }, 60_000);
});
