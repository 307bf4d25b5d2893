/**
 * The kill sweep that workers.test.ts (SQLite) and postgres-workers.test.ts
 * (PostgreSQL) both run: three workers of one job count a file each, a seeded
 * random one is SIGKILLed and restarted on its file, again and again, and
 * everything then runs to completion. The store is reached only through a
 * snapshot of the job's record count and file offsets, so the same driver
 * serves both.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import {
  addCounts,
  collect,
  expectExit,
  generateWordCorpus,
  sleep,
  spawnCli,
  waitFor,
  wordCounts,
  wordsBefore,
  type CliResult,
  type TempDir,
} from './helpers.js';

/** What the store holds for the job, read in one snapshot. */
export interface SweepSnapshot {
  readonly records: number;
  /** The job's file sources (ids contain the file's path followed by `#`). */
  readonly offsets: ReadonlyArray<{ readonly source: string; readonly offset: number }>;
}

export interface SweepOptions {
  readonly tmp: TempDir;
  readonly random: () => number;
  /** Bytes of each of the three texts the files are made of. */
  readonly bytes: number;
  /** The arguments of a worker that counts `file`. */
  readonly args: (file: string) => string[];
  /** One snapshot of the store; undefined while it is momentarily unreadable. */
  readonly snapshot: () => SweepSnapshot | undefined | Promise<SweepSnapshot | undefined>;
  /** The sweep stops after this many kills, or at its deadline. */
  readonly kills: number;
  readonly deadlineMs: number;
  /** The seeded pause between choosing a worker and killing it is below this. */
  readonly jitterMs: number;
}

export interface SweepOutcome {
  /** Every file counted, and its bytes. */
  readonly files: readonly string[];
  readonly data: readonly Buffer[];
  /** Word counts of all the files together, computed independently. */
  readonly truth: Map<string, number>;
  readonly kills: number;
  /** The committed offsets at which kills landed mid-file, after that run had committed progress of its own. */
  readonly killedAt: readonly number[];
  readonly killedPids: readonly number[];
}

interface Slot {
  /** The number of the file it counts. */
  readonly file: number;
  readonly child: ChildProcessWithoutNullStreams;
  readonly done: Promise<CliResult>;
  /** Offset committed when this run started. */
  readonly startOffset: number;
  completed: boolean;
  /** The note a restarted run prints at start-up (before its first commit, so before any kill). */
  resumeNote?: string;
}

/**
 * Runs the sweep. Mostly the worker killed is one that has committed progress
 * of its own since it started and stops short of its file's end (so the kill
 * lands mid-file, after a seeded jitter), sometimes any running one (a kill
 * during start-up). A worker that finishes its file while kills are still
 * wanted gets a new file, one of the three texts under a new name, so how
 * many kills land never depends on how fast the machine is at the moment.
 *
 * After each run that ends: offsets never go backwards, a restarted run said
 * where it resumed, and one snapshot has every offset at a line end with
 * exactly the words before the offsets in the job's record count. At the end
 * every file is committed whole.
 */
export async function killSweep(options: SweepOptions): Promise<SweepOutcome> {
  const { tmp, random } = options;
  const corpora = [0, 1, 2].map(() => generateWordCorpus(random, options.bytes, 3000));
  const corpusCounts = corpora.map((c) => wordCounts(c.toString('utf8')));
  const files: string[] = [];
  const data: Buffer[] = [];
  const truth = new Map<string, number>();
  /** Writes file number files.length with text c and adds it to the truth; returns its number. */
  const addFile = async (c: number): Promise<number> => {
    const f = files.length;
    files.push(tmp.path(`sweep-${f}.txt`));
    data.push(corpora[c]!);
    await writeFile(files[f]!, corpora[c]!);
    addCounts(truth, corpusCounts[c]!);
    return f;
  };
  for (let c = 0; c < 3; c++) await addFile(c);

  const snapshot = () => waitFor('a snapshot of the store', options.snapshot);
  const fileOf = (source: string): number => {
    const f = files.findIndex((path) => source.includes(`${path}#`));
    expect(f, source).toBeGreaterThanOrEqual(0);
    return f;
  };
  /** Committed offsets by file number (0 before a file's first commit). */
  const offsets = async (): Promise<number[]> => {
    const byFile = files.map(() => 0);
    for (const { source, offset } of (await snapshot()).offsets) byFile[fileOf(source)] = offset;
    return byFile;
  };
  // Files share three texts and most offsets are a text's end: scan each (text, offset) once.
  const scanned = new Map<Buffer, Map<number, number>>();
  const wordsBeforeOffset = (text: Buffer, offset: number): number => {
    const known = scanned.get(text) ?? new Map<number, number>();
    scanned.set(text, known);
    const words = known.get(offset) ?? wordsBefore(text, offset);
    known.set(offset, words);
    return words;
  };
  const checkConsistent = async (): Promise<void> => {
    const { records, offsets: committed } = await snapshot();
    let expected = 0;
    for (const { source, offset } of committed) {
      const text = data[fileOf(source)]!;
      if (offset > 0 && offset < text.length) expect(text[offset - 1], `offset ${offset} of ${source}`).toBe(0x0a);
      expected += wordsBeforeOffset(text, offset);
    }
    expect(records, 'records committed with the offsets').toBe(expected);
  };

  const start = async (f: number): Promise<Slot> => {
    const startOffset = (await offsets())[f]!;
    const child = spawnCli(options.args(files[f]!));
    const done = collect(child, 45_000);
    child.stdin.end();
    return { file: f, child, done, startOffset, completed: false };
  };
  const slots = await Promise.all([0, 1, 2].map(start));

  const lastOffset: number[] = [];
  const killedAt: number[] = [];
  const killedPids: number[] = [];
  let kills = 0;
  /** Checks a run that ended: offsets never go backwards, the restart note, consistency. */
  const reap = async (i: number, result: CliResult): Promise<number> => {
    const slot = slots[i]!;
    const offset = (await offsets())[slot.file]!;
    expect(offset, 'offsets never go backwards').toBeGreaterThanOrEqual(lastOffset[slot.file] ?? 0);
    lastOffset[slot.file] = offset;
    // A run that got as far as reading printed where it resumed (the note precedes any commit).
    if (slot.resumeNote !== undefined && (result.signal === null || offset > slot.startOffset)) {
      expect(result.stderr).toContain(slot.resumeNote);
    }
    if (result.signal === null) {
      expectExit(result, 0);
      expect(result.stderr).not.toMatch(/late record/);
      expect(offset).toBe(data[slot.file]!.length);
      slot.completed = true;
    }
    await checkConsistent();
    return offset;
  };

  const deadline = Date.now() + options.deadlineMs;
  while (kills < options.kills && Date.now() < deadline) {
    for (let i = 0; i < 3; i++) {
      if (slots[i]!.completed) slots[i] = await start(await addFile(slots[i]!.file % 3));
    }
    const early = random() < 0.15;
    const jitter = Math.floor(random() * options.jitterMs);
    const pick = random();
    const candidates = await waitFor(
      'a worker to kill',
      async () => {
        const running = slots.map((s, i) => (s.completed || s.child.exitCode !== null ? -1 : i)).filter((i) => i >= 0);
        if (running.length === 0) return [];
        if (early) return running;
        const now = await offsets();
        const progressed = running.filter((i) => now[slots[i]!.file]! > slots[i]!.startOffset);
        // Rather one whose progress stops short of its end: a run that committed its whole file is
        // finishing, and a kill then is not mid-file (offsets move in 1 MiB chunks: no rare case).
        const midFile = progressed.filter((i) => now[slots[i]!.file]! < data[slots[i]!.file]!.length);
        const pickFrom = midFile.length > 0 ? midFile : progressed;
        return pickFrom.length > 0 ? pickFrom : undefined;
      },
      20_000,
      2,
    );
    await sleep(jitter); // the seeded jitter is the point: the kill lands anywhere in the run's work
    for (let i = 0; i < 3; i++) {
      const s = slots[i]!;
      if (!s.completed && s.child.exitCode !== null) await reap(i, await s.done);
    }
    const alive = candidates.filter((i) => !slots[i]!.completed);
    if (alive.length === 0) continue;
    const i = alive[Math.floor(pick * alive.length)]!;
    const slot = slots[i]!;
    slot.child.kill('SIGKILL');
    const result = await slot.done;
    const offset = await reap(i, result);
    if (result.signal !== 'SIGKILL') continue; // it reached the end of its file just before
    kills++;
    killedPids.push(slot.child.pid!);
    if (offset > slot.startOffset && offset < data[slot.file]!.length) killedAt.push(offset);
    const restarted = await start(slot.file);
    if (offset > 0 && offset < data[slot.file]!.length) restarted.resumeNote = `resuming after ${offset} bytes already committed`;
    slots[i] = restarted;
  }

  // Let everything run to completion.
  for (let i = 0; i < 3; i++) {
    if (!slots[i]!.completed) await reap(i, await slots[i]!.done);
  }
  expect(await offsets()).toEqual(data.map((d) => d.length));
  return { files, data, truth, kills, killedAt, killedPids };
}
