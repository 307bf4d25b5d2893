/**
 * Snapshots and compaction (issue 6, SPEC §5): `snapshot export | inspect |
 * restore` and `compact`, driven through the real CLI while writers run.
 *
 * - a round trip of two jobs (processing-time count, event-time sum) with open
 *   and finalized windows gives identical `query` output, and file sources
 *   restarted against the restored database continue exactly-once;
 * - snapshots taken while a writer commits every 20 ms are sound SQLite
 *   images whose offsets and state agree, and replaying the rest of the file
 *   from them gives the exact totals;
 * - damaged, truncated, empty, random, foreign and newer-version files are
 *   refused with one line, leaving the target exactly as it was;
 * - restore is refused while a live worker uses the target, unless --force;
 * - compaction under a running writer removes only expired results and ids,
 *   never open windows, and keeps a long-running database bounded.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addCounts,
  binPath,
  cliEnv,
  collect,
  committedOffset,
  countDifferences,
  duplicatedWindowKeys,
  generateWordCorpus,
  integrityCheck,
  parseJsonLines,
  peekDb,
  runCli,
  runCliOk,
  seededRandom,
  sleep,
  spawnCli,
  status,
  sumByKey,
  textOf,
  total,
  useTempDir,
  waitFor,
  wordCounts,
  type CliResult,
  type JsonRow,
  eventFile,
} from './helpers.js';

// ---------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------

interface SnapshotHeaderJson {
  readonly format: string;
  readonly version: number;
  readonly created_at: string;
  readonly statesync_version: string;
  readonly schema_version: number;
  readonly jobs: ReadonlyArray<{ readonly job: string; readonly definition: Record<string, string> }>;
  readonly counts: {
    readonly jobs: number;
    readonly sources: number;
    readonly open_windows: number;
    readonly delta_rows: number;
    readonly finalized_windows: number;
    readonly result_rows: number;
    readonly dedupe_ids: number;
  };
  readonly payload_bytes: number;
  readonly sha256: string;
}

/** Splits a snapshot file into its magic line, header (text and parsed) and payload. */
/** Magic line, JSON header line, `sha256 <hex>` line (over the header line and the payload), payload. */
function parseSnapshot(bytes: Buffer): {
  magic: string;
  headerText: string;
  header: SnapshotHeaderJson;
  headerStart: number;
  checksumStart: number;
  payloadStart: number;
} {
  const nl1 = bytes.indexOf(0x0a);
  const nl2 = bytes.indexOf(0x0a, nl1 + 1);
  const nl3 = bytes.indexOf(0x0a, nl2 + 1);
  if (nl1 < 0 || nl2 < 0 || nl3 < 0) throw new Error('not a snapshot: fewer than three lines');
  const headerText = bytes.subarray(nl1 + 1, nl2).toString('utf8');
  const checksum = /^sha256 ([0-9a-f]{64})$/.exec(bytes.subarray(nl2 + 1, nl3).toString('latin1'));
  if (checksum === null) throw new Error('not a snapshot: no checksum line');
  return {
    magic: bytes.subarray(0, nl1).toString('latin1'),
    headerText,
    header: { ...(JSON.parse(headerText) as object), sha256: checksum[1]! } as SnapshotHeaderJson,
    headerStart: nl1 + 1,
    checksumStart: nl2 + 1,
    payloadStart: nl3 + 1,
  };
}

/** The checksum a snapshot carries: sha256 over its header line (with newline) and payload. */
function snapshotChecksum(bytes: Buffer): string {
  const { headerStart, checksumStart, payloadStart } = parseSnapshot(bytes);
  return createHash('sha256').update(bytes.subarray(headerStart, checksumStart)).update(bytes.subarray(payloadStart)).digest('hex');
}

/** Writes a snapshot's payload (the SQLite image) to `dest`. */
function extractPayload(snapshot: Buffer, dest: string): void {
  writeFileSync(dest, snapshot.subarray(parseSnapshot(snapshot).payloadStart));
}

/** Runs the CLI with stdin closed and keeps stdout as raw bytes (snapshots on stdout are binary). */
async function runCliBytes(args: readonly string[], env?: Readonly<Record<string, string>>): Promise<CliResult & { bytes: Buffer }> {
  const child = spawnCli(args, env === undefined ? {} : { env });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => chunks.push(b));
  const done = collect(child);
  child.stdin.end();
  const result = await done;
  return { ...result, bytes: Buffer.concat(chunks) };
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/**
 * A digest of everything in the database as plain SELECTs see it: the schema,
 * user_version and every row of every table (order-independent), blobs as hex.
 */
function contentDigest(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const hash = createHash('sha256');
    hash.update(`user_version ${String(db.pragma('user_version', { simple: true }))}\n`);
    const schema = db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY type, name').raw().all();
    hash.update(`${JSON.stringify(schema)}\n`);
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all() as string[];
    for (const table of tables) {
      const rows = (db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][]).map((row) =>
        JSON.stringify(row.map((v) => (Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : typeof v === 'bigint' ? `${v}n` : v))),
      );
      rows.sort();
      hash.update(`table ${table} ${rows.length}\n${rows.join('\n')}\n`);
    }
    return hash.digest('hex');
  } finally {
    db.close();
  }
}

/** Query output (json lines) as a sorted array of lines, for set comparison. */
async function queryLines(db: string, extra: readonly string[] = []): Promise<string[]> {
  const { stdout } = await runCliOk(['query', '--db', db, '--format', 'json', ...extra]);
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .sort();
}

function totalsOfJob(rows: readonly JsonRow[], job: string): Map<string, number> {
  return sumByKey(rows.filter((r) => r.job === job));
}

/** Exactly one line on stderr, prefixed `statesync: `, and no stack trace. */
function expectOneErrorLine(result: CliResult, what: string): void {
  const lines = result.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, `${what}: stderr ${JSON.stringify(result.stderr)}`).toHaveLength(1);
  expect(lines[0], what).toMatch(/^statesync: \S/);
  expect(result.stderr, what).not.toMatch(/\n\s+at /);
}

/**
 * Starts `args` and SIGKILLs it once the job's committed offset is past
 * `minFraction` of the file and `ready` (if given) holds; fails if the run got
 * to the end of the file first. Returns the offset committed at the kill.
 */
async function killMidFile(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  db: string,
  job: string,
  size: number,
  minFraction: number,
  ready: () => boolean = () => true,
): Promise<number> {
  // One counting thread: counting threads (the default on several cores) can finish the file
  // between two looks at its offset; threads.test.ts kills threaded runs.
  const child = spawnCli([...args, '--threads', '1'], { env });
  const done = collect(child);
  child.stdin.end();
  const outcome = await waitFor(
    `${job} to commit part of its file`,
    () => {
      if (child.exitCode !== null) return 'exited';
      const offset = committedOffset(db, job, basename(file));
      return offset !== undefined && offset > 0 && offset >= size * minFraction && offset < size * 0.9 && ready() ? 'reached' : undefined;
    },
    20_000,
    2,
  );
  child.kill('SIGKILL');
  const result = await done;
  expect(outcome, `the ${job} run ended before it could be killed mid-file: ${result.stderr}`).toBe('reached');
  expect(result.signal).toBe('SIGKILL');
  const offset = committedOffset(db, job, basename(file))!;
  expect(offset).toBeGreaterThan(0);
  expect(offset).toBeLessThan(size);
  return offset;
}

/** A stdin run of `job` SIGKILLed once it committed a delta: its window stays open (processing time pinned to `now`). */
async function leaveOpenWindow(db: string, job: string, now: string): Promise<void> {
  const child = spawnCli(['count', '--db', db, '--job', job, '--window', '1h', '--commit-interval', '20ms', '--quiet'], {
    env: { STATESYNC_NOW: now },
  });
  const done = collect(child);
  child.stdin.write('an open window\n');
  await waitFor(
    `an open window of ${job}`,
    () => peekDb(db, (d) => (d.prepare('SELECT COUNT(*) FROM deltas WHERE job = ?').pluck().get(job) as number) > 0 || undefined),
    15_000,
  );
  child.kill('SIGKILL');
  await done;
}

// ---------------------------------------------------------------------------
// 1. Round trip
// ---------------------------------------------------------------------------

describe('snapshot round trip of two jobs with open and finalized windows', () => {
  const tmp = useTempDir('snap-roundtrip');

  it('query is identical after export → restore, inspect shows both jobs, and file sources continue exactly-once', async () => {
    const src = tmp.path('src.db');
    const smallFile = tmp.path('small.txt');
    const bigFile = tmp.path('big.txt');
    const eventsFile = tmp.path('events.txt');
    const small = 'to be or not to be\nthat is the question\nwhether tis nobler\n';
    const big = generateWordCorpus(seededRandom(0x51a9_0001), 4 * 1024 * 1024, 3000);
    const events = eventFile(150_000, Date.UTC(2026, 0, 1) / 1000, 3);
    await writeFile(smallFile, small);
    await writeFile(bigFile, big);
    await writeFile(eventsFile, events.text);

    // words (count, processing time): a finished run (finalized window), then a run killed mid-file (open window).
    const wordsSmall = ['count', smallFile, '--db', src, '--job', 'words', '--window', '1m', '--quiet'];
    const wordsBig = ['count', bigFile, '--db', src, '--job', 'words', '--window', '1m', '--commit-interval', '20ms', '--quiet'];
    const bigEnv = { STATESYNC_NOW: '2026-03-01T10:05:00Z' };
    await runCliOk(wordsSmall, { env: { STATESYNC_NOW: '2026-03-01T10:00:00Z' } });
    await killMidFile(bigFile, wordsBig, bigEnv, src, 'words', big.length, 0);

    // bytes (event-time sum): killed once some windows were finalized and others are still open.
    const bytesArgs = [
      'sum', eventsFile, '--db', src, '--job', 'bytes', '--key', 'field=2', '--value', 'field=3', '--time', 'field=1',
      '--window', '1m', '--retain', '3650d', '--commit-interval', '20ms', '--quiet',
    ];
    await killMidFile(eventsFile, bytesArgs, {}, src, 'bytes', events.text.length, 0.2, () =>
      peekDb(src, (d) => (d.prepare("SELECT COUNT(*) FROM results WHERE job = 'bytes'").pluck().get() as number) > 0) === true,
    );

    const before = await status(src);
    for (const job of ['words', 'bytes']) {
      const j = before.jobs.find((x) => x.job === job)!;
      expect(j.open_windows, `${job} has open windows`).toBeGreaterThan(0);
      expect(j.finalized_windows, `${job} has finalized windows`).toBeGreaterThan(0);
    }
    const queryBefore = await queryLines(src);
    expect(queryBefore.some((l) => l.includes('"state":"open"'))).toBe(true);

    // Export to a file, and to stdout.
    const snap = tmp.path('state.snap');
    const exported = await runCli(['snapshot', 'export', '--db', src, '-o', snap]);
    expect(exported.exitCode, exported.stderr).toBe(0);
    expect(exported.stdout).toBe('');
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.partial') || f.startsWith('.statesync-'))).toEqual([]);
    const piped = await runCliBytes(['snapshot', 'export', '--db', src, '-o', '-']);
    expect(piped.exitCode, piped.stderr).toBe(0);
    const pipedSnap = tmp.path('piped.snap');
    writeFileSync(pipedSnap, piped.bytes);

    // The header: magic, jobs with definitions, and counts that agree with the source database.
    const fileBytes = readFileSync(snap);
    const { magic, header, payloadStart } = parseSnapshot(fileBytes);
    expect(magic).toBe('STATESYNC-SNAPSHOT 1');
    expect(header.format).toBe('statesync-snapshot');
    expect(header.version).toBe(1);
    expect(header.payload_bytes).toBe(fileBytes.length - payloadStart);
    expect(header.sha256).toBe(snapshotChecksum(fileBytes));
    expect(header.jobs.map((j) => j.job).sort()).toEqual(['bytes', 'words']);
    expect(header.jobs.find((j) => j.job === 'words')!.definition).toMatchObject({ reduction: 'count', window: '1m', time: 'processing' });
    expect(header.jobs.find((j) => j.job === 'bytes')!.definition).toMatchObject({ reduction: 'sum', window: '1m', time: 'field=1', value: 'field=3' });
    const sourceCounts = peekDb(src, (d) => {
      const n = (sql: string) => d.prepare(sql).pluck().get() as number;
      return {
        jobs: n('SELECT COUNT(*) FROM jobs'),
        sources: n('SELECT COUNT(*) FROM sources'),
        // Windows with deltas are open until first published, provisional after; final ones have only results.
        open_windows: n(
          'SELECT COUNT(*) FROM (SELECT DISTINCT job, window_start FROM deltas d WHERE (SELECT COUNT(*) FROM results r WHERE r.job = d.job AND r.window_start = d.window_start) = 0)',
        ),
        provisional_windows: n(
          'SELECT COUNT(*) FROM (SELECT DISTINCT job, window_start FROM deltas d WHERE (SELECT COUNT(*) FROM results r WHERE r.job = d.job AND r.window_start = d.window_start) > 0)',
        ),
        delta_rows: n('SELECT COUNT(*) FROM deltas'),
        finalized_windows: n('SELECT COUNT(*) FROM results WHERE final = 1'),
        result_rows: n('SELECT COALESCE(SUM(row_count), 0) FROM results'),
        dedupe_ids: n('SELECT COUNT(*) FROM dedupe'),
      };
    });
    expect(header.counts).toEqual(sourceCounts);

    // inspect: text and json.
    const inspected = await runCli(['snapshot', 'inspect', snap]);
    expect(inspected.exitCode, inspected.stderr).toBe(0);
    expect(inspected.stdout).toMatch(/^verdict\s+ok/m);
    expect(inspected.stdout).toMatch(/^\s+words: .*reduction=count.*time=processing/m);
    expect(inspected.stdout).toMatch(/^\s+bytes: .*reduction=sum.*value=field=3.*time=field=1/m);
    expect(inspected.stdout).toContain(`open windows ${sourceCounts!.open_windows}`);
    const inspectedJson = await runCli(['snapshot', 'inspect', pipedSnap, '--format', 'json']);
    expect(inspectedJson.exitCode, inspectedJson.stderr).toBe(0);
    const verdict = JSON.parse(inspectedJson.stdout) as { ok: boolean; header: SnapshotHeaderJson };
    expect(verdict.ok).toBe(true);
    expect(verdict.header.jobs.map((j) => j.job).sort()).toEqual(['bytes', 'words']);
    expect(verdict.header.counts).toEqual(sourceCounts);

    // Restore both exports into fresh databases: query is identical, offsets are the snapshot's.
    const fresh = tmp.path('fresh.db');
    const fresh2 = tmp.path('fresh-piped.db');
    const restored = await runCli(['snapshot', 'restore', snap, '--db', fresh]);
    expect(restored.exitCode, restored.stderr).toBe(0);
    const restored2 = await runCli(['snapshot', 'restore', pipedSnap, '--db', fresh2]);
    expect(restored2.exitCode, restored2.stderr).toBe(0);
    expect(await queryLines(fresh)).toEqual(queryBefore);
    expect(await queryLines(fresh2)).toEqual(queryBefore);
    expect(integrityCheck(fresh)).toBe('ok');
    const after = await status(fresh);
    const bySource = (s: typeof after) => s.sources.map((x) => `${x.job} ${x.source} ${x.offset}`).sort();
    expect(bySource(after)).toEqual(bySource(before));

    // Rerun the same file commands against the restored database: each resumes at the snapshot's offset, exactly-once.
    const wordsOffset = before.sources.find((s) => s.job === 'words' && s.source.includes('big.txt'))!.offset;
    const bytesOffset = before.sources.find((s) => s.job === 'bytes')!.offset;
    const onFresh = (args: readonly string[]) => args.map((a) => (a === src ? fresh : a));
    const again = await runCli(onFresh(wordsBig), { env: bigEnv });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain(`resuming after ${wordsOffset} bytes`);
    const againBytes = await runCli(onFresh(bytesArgs));
    expect(againBytes.exitCode, againBytes.stderr).toBe(0);
    expect(againBytes.stderr).toContain(`resuming after ${bytesOffset} bytes`);
    const consumed = await runCli(onFresh(wordsSmall), { env: { STATESYNC_NOW: '2026-03-01T10:00:00Z' } });
    expect(consumed.exitCode, consumed.stderr).toBe(0);
    expect(consumed.stderr).toMatch(/already consumed/);
    const wordTruth = addCounts(wordCounts(small), wordCounts(big.toString('utf8')));
    const rows = parseJsonLines((await runCliOk(['query', '--db', fresh, '--format', 'json'])).stdout);
    expect(countDifferences(totalsOfJob(rows, 'words'), wordTruth)).toEqual([]);
    expect(countDifferences(totalsOfJob(rows, 'bytes'), events.sums)).toEqual([]);
    expect(duplicatedWindowKeys(rows)).toEqual([]);
    const finalStatus = await status(fresh);
    expect(finalStatus.jobs.find((j) => j.job === 'words')!.records).toBe(total(wordTruth));
    expect(finalStatus.jobs.find((j) => j.job === 'bytes')!.records).toBe(150_000);
    for (const j of finalStatus.jobs) expect(j.late, `${j.job} late`).toBe(0);
    expect(finalStatus.jobs.every((j) => j.open_windows === 0)).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// 2. Export while a writer commits
// ---------------------------------------------------------------------------

describe('snapshot export while a writer is committing', () => {
  const tmp = useTempDir('snap-live');

  it('every snapshot is a sound, consistent image; replaying the rest of the file from it gives the exact totals', async () => {
    // The file is a 2 MiB block repeated, so the truth of any prefix is cheap: whole blocks plus a block prefix.
    const block = generateWordCorpus(seededRandom(0x51a9_0002), 2 * 1024 * 1024, 20_000);
    expect(block[block.length - 1]).toBe(0x0a);
    // 48 MiB on one counting thread: the writer runs long enough for several exports mid-file, even on a fast machine.
    const repeats = 24;
    const bytes = Buffer.concat(Array.from({ length: repeats }, () => block));
    const file = tmp.path('stream.txt');
    await writeFile(file, bytes);
    const blockCounts = wordCounts(block.toString('utf8'));
    const prefixCounts = (offset: number): Map<string, number> => {
      expect(bytes[offset - 1], `offset ${offset} is at a line end`).toBe(0x0a);
      const counts = addCounts(new Map(), blockCounts, Math.floor(offset / block.length));
      return addCounts(counts, wordCounts(block.subarray(0, offset % block.length).toString('utf8')));
    };
    const truth = prefixCounts(bytes.length);

    const src = tmp.path('src.db');
    const env = { STATESYNC_NOW: '2026-04-01T12:00:00Z' };
    const writerArgs = (db: string) => ['count', file, '--db', db, '--job', 'live', '--window', '1h', '--commit-interval', '20ms', '--quiet', '--threads', '1'];
    const writer = spawnCli(writerArgs(src), { env });
    const writerDone = collect(writer, 60_000);
    writer.stdin.end();
    await waitFor('the writer to register its job', () => peekDb(src, (d) => d.prepare('SELECT job FROM jobs').get() ?? undefined), 20_000, 5);

    // Two lanes export back to back while the writer runs; every third export goes to stdout.
    const snapshots: string[] = [];
    let n = 0;
    const lane = async () => {
      while (writer.exitCode === null) {
        const i = n++;
        const path = tmp.path(`snap-${i}.snap`);
        if (i % 3 === 2) {
          const r = await runCliBytes(['snapshot', 'export', '--db', src, '-o', '-']);
          expect(r.exitCode, r.stderr).toBe(0);
          writeFileSync(path, r.bytes);
        } else {
          const r = await runCli(['snapshot', 'export', '--db', src, '-o', path]);
          expect(r.exitCode, r.stderr).toBe(0);
        }
        snapshots.push(path);
      }
    };
    await Promise.all([lane(), lane()]);
    const written = await writerDone;
    expect(written.exitCode, written.stderr).toBe(0);
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.partial') || f.startsWith('.statesync-'))).toEqual([]);

    // Every snapshot: checksum and header agree with the payload, the payload passes integrity_check.
    const midFile: Array<{ path: string; offset: number }> = [];
    for (const path of snapshots) {
      const snap = readFileSync(path);
      const { header } = parseSnapshot(snap);
      expect(header.sha256, path).toBe(snapshotChecksum(snap));
      const image = `${path}.db`;
      extractPayload(snap, image);
      expect(integrityCheck(image), path).toBe('ok');
      const img = new Database(image, { readonly: true, fileMustExist: true });
      let offset: number;
      try {
        offset = (img.prepare("SELECT COALESCE(MAX(offset), 0) FROM sources WHERE job = 'live'").pluck().get() as number) ?? 0;
        expect(header.counts.delta_rows, path).toBe(img.prepare('SELECT COUNT(*) FROM deltas').pluck().get());
        expect(header.counts.finalized_windows, path).toBe(img.prepare('SELECT COUNT(*) FROM results WHERE final = 1').pluck().get());
      } finally {
        img.close();
      }
      if (offset > 0 && offset < bytes.length) midFile.push({ path, offset });
    }
    midFile.sort((a, b) => a.offset - b.offset);
    expect(midFile.length, `snapshots taken mid-file (of ${snapshots.length})`).toBeGreaterThanOrEqual(2);

    // Restored, a mid-file snapshot holds exactly the words before its offset; rerunning the
    // same command over the same file from there ends with the exact totals of the whole file.
    const picks = [midFile[0]!, midFile[midFile.length - 1]!];
    for (const [i, pick] of picks.entries()) {
      const db = tmp.path(`restored-${i}.db`);
      const restored = await runCli(['snapshot', 'restore', pick.path, '--db', db]);
      expect(restored.exitCode, restored.stderr).toBe(0);
      const atSnapshot = sumByKey(parseJsonLines((await runCliOk(['query', '--db', db, '--format', 'json'])).stdout));
      expect(countDifferences(atSnapshot, prefixCounts(pick.offset)), `state of ${pick.path} at offset ${pick.offset}`).toEqual([]);
      if (i > 0) continue; // one full replay (from the earliest snapshot, the longest) fits the time budget
      const rerun = await runCli(writerArgs(db), { env });
      expect(rerun.exitCode, rerun.stderr).toBe(0);
      expect(rerun.stderr).toContain(`resuming after ${pick.offset} bytes`);
      const final = sumByKey(parseJsonLines((await runCliOk(['query', '--db', db, '--format', 'json'])).stdout));
      expect(countDifferences(final, truth), `replay from ${pick.path}`).toEqual([]);
      expect(final.size).toBe(truth.size);
      expect(integrityCheck(db)).toBe('ok');
    }
    // The uninterrupted writer agrees too.
    expect(countDifferences(sumByKey(parseJsonLines((await runCliOk(['query', '--db', src, '--format', 'json'])).stdout)), truth)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// 3. Bad files
// ---------------------------------------------------------------------------

describe('restore and inspect refuse bad snapshot files and leave the target exactly as it was', () => {
  const tmp = useTempDir('snap-bad');
  let good: Buffer;
  let target: string;
  let goodSnap: string;
  let targetDigest: string;
  let targetFileSha: string;
  let targetQuery: string[];
  let caseNo = 0;

  beforeAll(async () => {
    // The snapshot's source: two jobs.
    const src = tmp.path('src.db');
    const words = tmp.path('words.txt');
    const events = tmp.path('events.txt');
    await writeFile(words, 'alpha beta gamma\nalpha beta\nalpha\n');
    await writeFile(events, eventFile(200, Date.UTC(2026, 0, 1) / 1000, 1).text);
    await runCliOk(['count', words, '--db', src, '--job', 'words', '--window', '1m', '--quiet']);
    await runCliOk(['sum', events, '--db', src, '--job', 'bytes', '--key', 'field=2', '--value', 'field=3', '--time', 'field=1', '--window', '5s', '--retain', '3650d', '--quiet']);
    goodSnap = tmp.path('good.snap');
    await runCliOk(['snapshot', 'export', '--db', src, '-o', goodSnap]);
    good = readFileSync(goodSnap);
    // The target: different content (a finalized window and an open one).
    target = tmp.path('target.db');
    const other = tmp.path('other.txt');
    await writeFile(other, 'one two three\nthree\n');
    await runCliOk(['count', other, '--db', target, '--job', 'mine', '--window', '1h', '--quiet']);
    await leaveOpenWindow(target, 'mine', '2026-02-02T00:00:00Z');
    // A query opens the database read-write and checkpoints the WAL on close: do it before taking the file's bytes.
    targetQuery = await queryLines(target);
    expect(targetQuery.length).toBeGreaterThan(0);
    expect(existsSync(`${target}-wal`)).toBe(false);
    targetDigest = contentDigest(target);
    targetFileSha = sha256(readFileSync(target));
  });

  const flip = (bytes: Buffer, at: number, mask = 0x01): Buffer => {
    const copy = Buffer.from(bytes);
    copy[at] = copy[at]! ^ mask;
    return copy;
  };
  /** Flips the byte just after `marker` in the JSON header. */
  const flipHeaderAfter = (marker: string) => (): Buffer => {
    const { headerText, headerStart } = parseSnapshot(good);
    const at = headerText.indexOf(marker);
    if (at < 0) throw new Error(`marker ${marker} not in header`);
    return flip(good, headerStart + Buffer.byteLength(headerText.slice(0, at + marker.length)));
  };
  const payloadAt = (fraction: number) => (): Buffer => {
    const { payloadStart } = parseSnapshot(good);
    return flip(good, payloadStart + Math.min(good.length - payloadStart - 1, Math.floor((good.length - payloadStart) * fraction)), 0x10);
  };

  const cases: Array<[string, () => Buffer]> = [
    ['a byte flipped in the middle of the payload', payloadAt(0.5)],
    ['a byte flipped in the magic line', () => flip(good, 3)],
    ['a byte flipped in the header JSON syntax', flipHeaderAfter('')],
    ['a byte flipped in the header created_at', flipHeaderAfter('"created_at":"')],
    ['a byte flipped in the header schema_version', flipHeaderAfter('"schema_version":')],
    ['a byte flipped in a header job name', flipHeaderAfter('{"job":"')],
    ['a byte flipped in a header job definition', flipHeaderAfter('"reduction":"s')],
    ['a byte flipped in the header counts', flipHeaderAfter('"result_rows":')],
    ['a byte flipped in the header payload_bytes', flipHeaderAfter('"payload_bytes":')],
    ['a byte flipped in the checksum line', () => flip(good, parseSnapshot(good).checksumStart + 10)],
    ['truncated to half', () => good.subarray(0, Math.floor(good.length / 2))],
    ['truncated by one byte', () => good.subarray(0, good.length - 1)],
    ['truncated inside the header', () => good.subarray(0, parseSnapshot(good).headerStart + 40)],
    ['padded with one byte', () => Buffer.concat([good, Buffer.from('\n')])],
    ['empty', () => Buffer.alloc(0)],
    ['random bytes', () => {
      const random = seededRandom(0x51a9_0003);
      return Buffer.from(Array.from({ length: 65_536 }, () => Math.floor(random() * 256)));
    }],
    ['a newer version (STATESYNC-SNAPSHOT 9)', () => Buffer.concat([Buffer.from('STATESYNC-SNAPSHOT 9'), good.subarray(good.indexOf(0x0a))])],
    ['a plain text file', () => Buffer.from('to be or not to be\nthat is the question\n')],
    ['a statesync database instead of a snapshot', () => readFileSync(tmp.path('src.db'))],
  ];

  it.each(cases)('%s', async (name, make) => {
    const bad = make();
    expect(bad.equals(good)).toBe(false);
    const file = tmp.path(`bad-${++caseNo}.snap`);
    writeFileSync(file, bad);
    // Each case gets its own copy of the target, so one wrongly accepted file does not spoil the others.
    const db = tmp.path(`target-${caseNo}.db`);
    copyFileSync(target, db);

    const [restored, inspected] = await Promise.all([
      runCli(['snapshot', 'restore', file, '--db', db]),
      runCli(['snapshot', 'inspect', file]),
    ]);
    expect(restored.exitCode, `restore of ${name}: ${restored.stderr}`).toBe(2);
    expectOneErrorLine(restored, `restore of ${name}`);
    expect(restored.stdout).toBe('');
    expect(sha256(readFileSync(db)), 'target file bytes').toBe(targetFileSha);
    expect(existsSync(`${db}-wal`), 'no WAL was started on the target').toBe(false);
    expect(contentDigest(db), `target content after restore of ${name}`).toBe(targetDigest);

    expect(inspected.exitCode, `inspect of ${name}: ${inspected.stdout}`).toBe(2);
    expectOneErrorLine(inspected, `inspect of ${name}`);
    expect(inspected.stdout).toMatch(/^verdict\s+BAD: \S/m);
  });

  it('inspect --format json reports the problem', async () => {
    const file = tmp.path('bad-json.snap');
    writeFileSync(file, payloadAt(0.5)());
    const r = await runCli(['snapshot', 'inspect', file, '--format', 'json']);
    expect(r.exitCode).toBe(2);
    expectOneErrorLine(r, 'inspect --format json');
    const verdict = JSON.parse(r.stdout) as { ok: boolean; problem: string };
    expect(verdict.ok).toBe(false);
    expect(verdict.problem).toMatch(/checksum|corrupt/);
  });

  it('a missing file, a directory and an unreadable file are refused the same way, each said as such', async () => {
    const unreadable = tmp.path('unreadable.snap');
    writeFileSync(unreadable, good, { mode: 0o000 });
    const directory = tmp.newDir();
    // Root reads any file: the unreadable one is tried as another user (setpriv, util-linux).
    const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, binPath];
    for (const [what, file, said, prefix] of [
      ['a missing file', tmp.path('no-such.snap'), `${tmp.path('no-such.snap')}: no such snapshot file`, []],
      ['a directory', directory, `${directory} is a directory; give a snapshot file`, []],
      ['an unreadable file', unreadable, `cannot read ${unreadable}: permission denied`, asNobody],
    ] as const) {
      for (const args of [['snapshot', 'restore', file, '--db', target], ['snapshot', 'inspect', file]]) {
        const r =
          prefix.length === 0
            ? await runCli(args)
            : await collect(spawn(prefix[0]!, [...prefix.slice(1), ...args], { env: cliEnv() }) as unknown as ChildProcessWithoutNullStreams);
        expect([r.exitCode, r.stderr], `${args[1]} of ${what}`).toEqual([2, `statesync: ${said}\n`]);
      }
    }
    expect(contentDigest(target)).toBe(targetDigest);
  });

  it('the good snapshot itself restores into the same target (the digest sees a real change)', async () => {
    const r = await runCli(['snapshot', 'restore', goodSnap, '--db', target]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(contentDigest(target)).not.toBe(targetDigest);
    expect(await queryLines(target)).toEqual(await queryLines(tmp.path('src.db')));
  });
});

// ---------------------------------------------------------------------------
// 4. Live workers
// ---------------------------------------------------------------------------

describe('restore while a live worker uses the target', () => {
  const tmp = useTempDir('snap-live-worker');

  it('is refused (exit 2, target unchanged) unless --force; a dead worker does not block it', async () => {
    const src = tmp.path('src.db');
    const words = tmp.path('words.txt');
    await writeFile(words, 'red green blue\nred\n');
    await runCliOk(['count', words, '--db', src, '--job', 'colours', '--window', '1m', '--quiet']);
    const snap = tmp.path('colours.snap');
    await runCliOk(['snapshot', 'export', '--db', src, '-o', snap]);

    const target = tmp.path('target.db');
    const base = tmp.path('base.txt');
    await writeFile(base, 'one two two\n');
    await runCliOk(['count', base, '--db', target, '--job', 'base', '--window', '1m', '--quiet']);

    // A worker of another job on the target, reading a stdin pipe that stays open.
    const worker = spawnCli(['count', '--db', target, '--job', 'other', '--window', '1h', '--commit-interval', '100ms', '--format', 'json']);
    const workerDone = collect(worker, 60_000);
    const workerNotes = textOf(worker.stderr);
    worker.stdin.write('live input\n');
    await waitFor(
      'the worker to register and commit',
      () => peekDb(target, (d) => (d.prepare("SELECT COUNT(*) FROM deltas WHERE job = 'other'").pluck().get() as number) > 0 || undefined),
      15_000,
    );
    const baseBefore = await queryLines(target, ['--job', 'base']);
    const jobsOf = (db: string) => peekDb(db, (d) => d.prepare('SELECT job FROM jobs ORDER BY job').pluck().all() as string[]);

    const refused = await runCli(['snapshot', 'restore', snap, '--db', target]);
    expect(refused.exitCode, refused.stderr).toBe(2);
    expectOneErrorLine(refused, 'restore refused');
    expect(refused.stderr).toMatch(/in use by 1 live worker/);
    expect(refused.stderr).toContain(String(worker.pid));
    expect(await queryLines(target, ['--job', 'base'])).toEqual(baseBefore);
    expect(jobsOf(target)).toEqual(['base', 'other']);
    expect(worker.exitCode).toBeNull();

    const forced = await runCli(['snapshot', 'restore', snap, '--db', target, '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(await queryLines(target, ['--job', 'colours'])).toEqual(await queryLines(src, ['--job', 'colours']));
    expect(jobsOf(target)).not.toContain('base');

    // What the overridden worker then does is its business (it is fenced and rejoins; its committed
    // stdin offset is gone); it must end, and the restored state must stay sound and intact.
    worker.stdin.write('after restore\n');
    await waitFor('the worker to find itself fenced at its next commit', () => workerNotes().includes('rejoining as a new worker') || worker.exitCode !== null);
    worker.stdin.end();
    const ended = await workerDone;
    expect(ended.signal).toBeNull();
    expect(integrityCheck(target)).toBe('ok');
    expect(await queryLines(target, ['--job', 'colours'])).toEqual(await queryLines(src, ['--job', 'colours']));

    // A worker that was SIGKILLed (its row still says running, its pid is gone) holds nothing.
    const dead = spawnCli(['count', '--db', target, '--job', 'other', '--window', '1h', '--commit-interval', '50ms', '--quiet']);
    const deadDone = collect(dead);
    dead.stdin.write('soon dead\n');
    await waitFor(
      'the second worker to register',
      () => peekDb(target, (d) => (d.prepare("SELECT COUNT(*) FROM workers WHERE pid = ? AND state = 'running'").pluck().get(dead.pid) as number) > 0 || undefined),
      15_000,
    );
    dead.kill('SIGKILL');
    await deadDone;
    const afterDeath = await runCli(['snapshot', 'restore', snap, '--db', target]);
    expect(afterDeath.exitCode, afterDeath.stderr).toBe(0);
    expect(jobsOf(target)).toEqual(['colours']);
  });
});

// ---------------------------------------------------------------------------
// 5. Compaction
// ---------------------------------------------------------------------------

describe('compaction under a running writer', () => {
  const tmp = useTempDir('snap-compact');

  it('removes only expired results and ids, never open windows, and keeps the database bounded', async () => {
    const db = tmp.path('state.db');
    interface ResultRow {
      job: string;
      window_start: number;
      window_end: number;
      finalized_at: number;
      final: number;
      rows: string;
    }
    const results = (job: string) =>
      peekDb(db, (d) => d.prepare('SELECT job, window_start, window_end, finalized_at, final, rows FROM results WHERE job = ? ORDER BY seq').all(job) as ResultRow[]) ?? [];
    const deltasOf = (job: string) =>
      peekDb(db, (d) =>
        sha256(JSON.stringify((d.prepare('SELECT * FROM deltas WHERE job = ? ORDER BY id').raw().all(job) as unknown[][]).map((r) => r.map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v))))),
      );

    // stale: an open window from 2020 (a killed run) — far past any retention, and never to be compacted.
    await leaveOpenWindow(db, 'stale', '2020-01-01T00:00:00Z');
    const staleDeltas = deltasOf('stale');
    expect(staleDeltas).toBeDefined();
    // keep: finalized results from 2020 under a 10-year retention.
    const keepFile = tmp.path('keep.txt');
    await writeFile(keepFile, eventFile(100, Date.UTC(2020, 5, 1) / 1000, 2).text);
    await runCliOk(['sum', keepFile, '--db', db, '--job', 'keep', '--key', 'field=2', '--value', 'field=3', '--time', 'field=1', '--window', '1s', '--retain', '3650d', '--quiet']);
    const keepResults = JSON.stringify(results('keep'));
    expect(results('keep').length).toBeGreaterThan(0);
    // ids: dedupe ids that expire after 1 s; results under the default 1 h retention.
    const ids = await runCli(['count', '--db', db, '--job', 'ids', '--key', 'field=2', '--dedupe', 'field=1', '--dedupe-ttl', '1s', '--quiet'], {
      input: 'id1 a\nid2 b\nid1 a\n',
    });
    expect(ids.exitCode, ids.stderr).toBe(0);
    const idsEndedAt = Date.now();
    expect(peekDb(db, (d) => d.prepare("SELECT COUNT(*) FROM dedupe WHERE job = 'ids'").pluck().get())).toBe(2);
    const idsResults = JSON.stringify(results('ids'));
    expect(results('ids').length).toBeGreaterThan(0);

    // live: 200 ms windows kept 1 s, fed for ~6.5 s; it compacts in the background every second.
    const writer = spawnCli(['count', '--db', db, '--job', 'live', '--window', '200ms', '--retain', '1s', '--commit-interval', '50ms', '--format', 'json']);
    const writerDone = collect(writer, 60_000);
    const fed = new Map<string, number>();
    const random = seededRandom(0x51a9_0005);
    const started = Date.now();
    const feedMs = 6500;
    const feeding = (async () => {
      while (Date.now() - started < feedMs) {
        const lines: string[] = [];
        for (let l = 0; l < 40; l++) {
          const words: string[] = [];
          for (let w = 0; w < 5; w++) {
            const word = `k${Math.floor(random() * 3000).toString(36)}`;
            words.push(word);
            fed.set(word, (fed.get(word) ?? 0) + 1);
          }
          lines.push(`${words.join(' ')}\n`);
        }
        writer.stdin.write(lines.join(''));
        await sleep(20); // the feeding pace: steady input is the workload
      }
    })();
    // Sample the database file size while input is steady.
    const sizes: Array<{ at: number; db: number; wal: number }> = [];
    const sampling = (async () => {
      await sleep(500); // the writer's start-up and first windows are not the steady state sampled
      while (Date.now() - started < feedMs) {
        const wal = existsSync(`${db}-wal`) ? statSync(`${db}-wal`).size : 0;
        sizes.push({ at: Date.now() - started, db: statSync(db).size, wal });
        await sleep(100); // the sampling period
      }
    })();

    // compact --db twice while the writer runs.
    const compactAndCheck = async (label: string): Promise<number> => {
      const begun = Date.now();
      const r = await runCli(['compact', '--db', db]);
      expect(r.exitCode, `${label}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(/compacted/);
      for (const row of results('live')) {
        // Expired at the start of compaction ⇒ gone, unless the writer published it afterwards.
        // Final windows only: a provisional one (the writer's last, once it ended) stays, like an open one.
        if (row.window_end < begun - 1000 && row.final === 1) {
          expect(row.finalized_at, `${label}: window ending ${row.window_end} expired before ${begun}`).toBeGreaterThan(begun);
        }
        if (row.final === 1) expect(row.window_end, `${label}: nothing far past retention`).toBeGreaterThanOrEqual(Date.now() - 1000 - 2500);
      }
      expect(deltasOf('stale'), `${label}: open windows untouched`).toBe(staleDeltas);
      expect(JSON.stringify(results('keep')), `${label}: results within their job's retention stay`).toBe(keepResults);
      expect(JSON.stringify(results('ids')), `${label}: results within their job's retention stay`).toBe(idsResults);
      return begun;
    };
    // Each compaction comes once there is something for it to expire; the wall-clock waits for a
    // retention or TTL to pass are what is tested. The first: the ids past their 1 s TTL and the
    // first window that live published past its 1 s retention.
    const firstEnd = await waitFor('a first window published by live', () => results('live')[0]?.window_end, 15_000);
    await waitFor('the ids and that window to be more than 1 s old', () => Date.now() > Math.max(idsEndedAt, firstEnd) + 1000);
    const firstBegun = await compactAndCheck('first compact');
    expect(peekDb(db, (d) => d.prepare("SELECT COUNT(*) FROM dedupe WHERE job = 'ids'").pluck().get()), 'expired dedupe ids').toBe(0);
    // The second: a window published after the first compaction, past its retention too.
    const nextEnd = await waitFor('a window published by live after the first compaction', () =>
      results('live').find((r) => r.finalized_at > firstBegun)?.window_end,
    );
    await waitFor('that window to be more than 1 s old', () => Date.now() > nextEnd + 1000);
    const secondAt = Date.now();
    await compactAndCheck('second compact');
    expect(writer.exitCode, 'the writer keeps running').toBeNull();
    await feeding;
    await sampling;
    writer.stdin.end();
    const written = await writerDone;
    expect(written.exitCode, written.stderr).toBe(0);

    // The writer kept working: it printed every window exactly once, with all that was fed,
    // including windows after the compactions.
    const printed = parseJsonLines(written.stdout);
    expect(duplicatedWindowKeys(printed)).toEqual([]);
    expect(countDifferences(sumByKey(printed), fed)).toEqual([]);
    expect(printed.some((r) => Date.parse(r.window_start) > secondAt)).toBe(true);
    const liveStatus = (await status(db)).jobs.find((j) => j.job === 'live')!;
    expect(liveStatus.records).toBe(total(fed));
    expect(liveStatus.late).toBe(0);

    // Retained windows hold exactly what the writer printed for them.
    const byWindow = (rows: readonly JsonRow[]) => {
      const m = new Map<string, string[]>();
      for (const r of rows) m.set(r.window_start, [...(m.get(r.window_start) ?? []), `${r.key}=${r.value}`]);
      for (const v of m.values()) v.sort();
      return m;
    };
    const printedWindows = byWindow(printed);
    const retainedRows = parseJsonLines((await runCliOk(['query', '--db', db, '--job', 'live', '--format', 'json'])).stdout);
    const retained = byWindow(retainedRows);
    expect(retained.size).toBeGreaterThan(0);
    for (const [start, rows] of retained) expect(rows, `retained window ${start}`).toEqual(printedWindows.get(start));
    expect(retainedRows.some((r) => r.state === 'open')).toBe(false);

    // A last compaction after the writer ended.
    await compactAndCheck('final compact');
    expect(integrityCheck(db)).toBe('ok');

    // The database file stops growing under steady input with background compaction.
    expect(sizes.length).toBeGreaterThanOrEqual(30);
    const third = Math.floor(sizes.length / 3);
    const maxOf = (xs: typeof sizes) => Math.max(...xs.map((s) => s.db));
    const middle = maxOf(sizes.slice(third, 2 * third));
    const last = maxOf(sizes.slice(2 * third));
    // What the results table would hold by now without compaction: every published [key, value].
    const uncompacted = printed.reduce((n, r) => n + JSON.stringify([r.key, r.value]).length + 1, 0);
    const summary = `db sizes (ms:db/wal bytes) ${sizes.map((s) => `${s.at}:${s.db}/${s.wal}`).join(' ')}; ${uncompacted} bytes published`;
    expect(last, summary).toBeLessThanOrEqual(1.5 * middle);
    expect(last, summary).toBeLessThan(0.6 * uncompacted);
  });
});

// ---------------------------------------------------------------------------
// 6. Export to a FIFO
// ---------------------------------------------------------------------------

describe('snapshot export -o onto something that is not a regular file', () => {
  const tmp = useTempDir('snap-fifo');

  it('writes into a FIFO, never replaces it with a regular file', async () => {
    const db = tmp.path('state.db');
    const made = await runCli(['count', '--db', db, '--job', 'j', '--quiet'], { input: 'a b c\n' });
    expect(made.exitCode, made.stderr).toBe(0);
    const fifo = tmp.path('out.fifo');
    execFileSync('mkfifo', [fifo]);
    // A reader on the FIFO, as `statesync snapshot export -o fifo` would have in a shell pipeline.
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    const got: Buffer[] = [];
    reader.stdout.on('data', (b: Buffer) => got.push(b));
    let readerClosed = false;
    reader.once('close', () => (readerClosed = true));
    try {
      const r = await runCli(['snapshot', 'export', '--db', db, '-o', fifo], { timeoutMs: 15_000 });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(lstatSync(fifo).isFIFO(), `${fifo} is still a FIFO after export`).toBe(true);
      await waitFor('the reader of the FIFO to see its end and exit', () => readerClosed, 5000);
      const received = Buffer.concat(got);
      expect(received.length, 'the reader received the snapshot').toBeGreaterThan(0);
      const copy = tmp.path('received.snap');
      writeFileSync(copy, received);
      const inspected = await runCli(['snapshot', 'inspect', copy]);
      expect(inspected.exitCode, inspected.stdout + inspected.stderr).toBe(0);
    } finally {
      if (reader.exitCode === null) reader.kill('SIGKILL');
    }
  });
});
