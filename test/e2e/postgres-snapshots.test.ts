/**
 * Snapshots between the backends (issue 14): a snapshot's payload is an
 * SQLite image whatever the store, so state moves SQLite → PostgreSQL →
 * SQLite through `snapshot export` and `snapshot restore`, driven through
 * the real CLI against the run's throwaway PostgreSQL server.
 *
 * - jobs of every kind (processing and event time, count, sum, avg, --dedupe)
 *   with open, provisional and final windows read byte-identically after each
 *   hop: `query` and `watch` in every format, `status` (jobs, sources, open
 *   windows), `snapshot inspect`, and every row of the snapshot tables;
 * - a growing file counted up to a mid-line cut on one backend continues
 *   exactly-once on the other after a restore, in both directions;
 * - a restore into PostgreSQL is all or nothing: damaged or truncated files
 *   (as files and through a pipe) are refused with exit 2, a snapshot the
 *   server refuses mid-restore and a restore SIGKILLed mid-transaction leave
 *   every table exactly as it was; `export | restore -` pipes work.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../support/pg.js';
import {
  binPath,
  cliEnv,
  clusterStatus,
  collect,
  countDifferences,
  duplicatedWindowKeys,
  generateWordCorpus,
  parseJsonLines,
  runCli,
  runCliOk,
  seededRandom,
  spawnCli,
  status,
  sumByKey,
  total,
  useTempDir,
  waitFor,
  wordCounts,
  type CliResult,
  eventFile,
} from './helpers.js';

// ---------------------------------------------------------------------------
// Local helpers
// ---------------------------------------------------------------------------

const FORMATS = ['text', 'tsv', 'csv', 'json', 'table'] as const;
/** The tables a snapshot carries (src/state/port.ts SNAPSHOT_TABLES). */
const SNAPSHOT_TABLES = ['jobs', 'sources', 'deltas', 'results', 'dedupe', 'sequences'] as const;

/** Every way the state is read, as the CLI prints it: compared byte for byte across backends. */
async function readings(db: string): Promise<Record<string, string>> {
  const views: Array<[string, string[]]> = [
    ...FORMATS.map((f): [string, string[]] => [`query -f ${f}`, ['query', '-f', f]]),
    ['query --job bytes --top 2 -f json', ['query', '--job', 'bytes', '--top', '2', '-f', 'json']],
    ['query --window -f tsv', ['query', '--window', '2026-03-01T10:05:30Z', '-f', 'tsv']],
    ...FORMATS.map((f): [string, string[]] => [`watch -f ${f}`, ['watch', '-f', f]]),
    ['watch --final -f json', ['watch', '--final', '-f', 'json']],
    ['watch --from 3 --job words -f csv', ['watch', '--from', '3', '--job', 'words', '-f', 'csv']],
  ];
  const out: Record<string, string> = {};
  // A few at a time: each is a node process, and the machine has two cores.
  for (let i = 0; i < views.length; i += 4) {
    const batch = views.slice(i, i + 4);
    const results = await Promise.all(batch.map(([, args]) => runCliOk([...args, '--db', db])));
    batch.forEach(([name], j) => (out[name] = results[j]!.stdout));
  }
  return out;
}

/**
 * `status --format json` without what belongs to the database rather than the
 * state: its name, sizes, workers and schema_version (each backend numbers its
 * own schema's migrations).
 */
async function stateStatus(db: string): Promise<unknown> {
  const { stdout } = await runCliOk(['status', '--db', db, '--format', 'json']);
  const { published_seq, jobs, sources, open_windows } = JSON.parse(stdout) as Record<string, unknown>;
  return { published_seq, jobs, sources, open_windows };
}

/** Every row of the snapshot tables of an SQLite database, blobs as hex, in a stable order. */
function sqliteSnapshotRows(path: string): Record<string, string[]> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const out: Record<string, string[]> = {};
    for (const table of SNAPSHOT_TABLES) {
      out[table] = (db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][])
        .map((row) => JSON.stringify(row.map((v) => (Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : v))))
        .sort();
    }
    return out;
  } finally {
    db.close();
  }
}

/** Runs `use` with a client of the database at `url`, and closes it. */
async function withPg<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/**
 * A digest of everything statesync keeps in a PostgreSQL database: every row
 * of every table of the `statesync` schema (workers and schema_version too,
 * order-independent, bytea as hex) and where the delta id sequence stands.
 */
async function pgStateDigest(url: string): Promise<string> {
  return withPg(url, async (client) => {
    const hash = createHash('sha256');
    const tables = await client.query<{ name: string }>(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'statesync' AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    for (const { name } of tables.rows) {
      const { rows } = await client.query({ text: `SELECT * FROM statesync.${client.escapeIdentifier(name)}`, rowMode: 'array' });
      const lines = (rows as unknown[][]).map((row) => JSON.stringify(row.map((v) => (Buffer.isBuffer(v) ? `x'${v.toString('hex')}'` : v)))).sort();
      hash.update(`table ${name} ${lines.length}\n${lines.join('\n')}\n`);
    }
    const seq = await client.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value, is_called FROM ${(await client.query<{ s: string }>(`SELECT pg_get_serial_sequence('statesync.deltas', 'id') AS s`)).rows[0]!.s}`,
    );
    hash.update(`deltas id sequence ${JSON.stringify(seq.rows[0])}\n`);
    return hash.digest('hex');
  });
}

/** statesync's sessions on the database of `url` (other than the probe's own): what they are running. */
async function statesyncSessions(url: string): Promise<Array<{ pid: number; state: string | null; query: string }>> {
  return withPg(url, async (client) => {
    const { rows } = await client.query<{ pid: number; state: string | null; query: string }>(
      `SELECT pid, state, query FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'statesync'`,
    );
    return rows;
  });
}

/** `snapshot inspect --format json`: what is the same whichever backend exported it (not time, size or checksum). */
async function inspected(file: string): Promise<unknown> {
  const { stdout } = await runCliOk(['snapshot', 'inspect', file, '--format', 'json']);
  const { ok, header } = JSON.parse(stdout) as { ok: boolean; header: Record<string, unknown> };
  return { ok, format: header.format, version: header.version, schema_version: header.schema_version, jobs: header.jobs, counts: header.counts };
}

/** The counts line of `snapshot inspect` (text). */
async function inspectedCountsLine(file: string): Promise<string> {
  const { stdout } = await runCliOk(['snapshot', 'inspect', file]);
  return stdout.split('\n').find((l) => l.startsWith('counts'))!;
}

/**
 * Runs `args` reading stdin, writes `input`, waits until `status` shows an
 * open window of `job`, and SIGKILLs it: the window stays open (and the
 * worker's row stays, its process gone).
 */
async function leaveOpenWindow(db: string, job: string, args: readonly string[], input: string, env: Record<string, string> = {}): Promise<void> {
  const child = spawnCli([...args, '--db', db, '--job', job, '--commit-interval', '20ms', '--quiet'], { env });
  const done = collect(child);
  child.stdin.write(input);
  await waitFor(
    `an open window of ${job}`,
    async () => {
      const r = await runCli(['status', '--db', db, '--format', 'json']);
      if (r.exitCode !== 0) return undefined;
      const s = JSON.parse(r.stdout) as { open_windows: Array<{ job: string; state: string }> };
      return s.open_windows.some((w) => w.job === job && w.state === 'open');
    },
    20_000,
    50,
  );
  child.kill('SIGKILL');
  await done;
}

/** JSON lines with awkward keys (tab, comma, quote, backslash, non-ASCII) and fractional values, for avg. */
function latencyFile(lines: number, startMs: number): string {
  const users = ['plain', 'tab\there', 'comma,quoted "x"', 'back\\slash', 'Zoë', '日本', 'emoji 😀', 'new\nline'];
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const ts = new Date(startMs + i * 700).toISOString();
    out.push(`${JSON.stringify({ ts, user: users[(i * 5) % users.length], ms: ((i * 37) % 1000) / 7 })}\n`);
  }
  return out.join('');
}

/** A byte offset inside a line (never at its start or end) at about `fraction` of `bytes`. */
function midLine(bytes: Buffer, fraction: number): number {
  let at = Math.floor(bytes.length * fraction);
  for (;;) {
    const end = bytes.indexOf(0x0a, at);
    const start = bytes.lastIndexOf(0x0a, end - 1) + 1;
    if (end - start >= 4) return start + Math.floor((end - start) / 2);
    at = end + 1;
  }
}

/** Exactly one line on stderr, prefixed `statesync: `, and no stack trace. */
function expectOneErrorLine(result: CliResult, what: string): void {
  const lines = result.stderr.split('\n').filter((l) => l.length > 0);
  expect(lines, `${what}: stderr ${JSON.stringify(result.stderr)}`).toHaveLength(1);
  expect(lines[0], what).toMatch(/^statesync: \S/);
  expect(result.stderr, what).not.toMatch(/\n\s+at /);
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** `node bin/statesync.js ARGS` as a shell word list. */
const cliWords = (args: readonly string[]): string => [process.execPath, binPath, ...args].map(shellQuote).join(' ');

/** Runs a bash pipeline (with pipefail) in the tests' CLI environment. */
function runPipeline(script: string, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pipeline did not end within ${timeoutMs} ms: ${script}; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, exitCode, signal });
    });
  });
}

/** Magic line, JSON header line, `sha256 <hex>` line (over the header line and the payload), payload. */
function splitSnapshot(bytes: Buffer): { header: Record<string, unknown>; headerStart: number; checksumStart: number; payloadStart: number } {
  const nl1 = bytes.indexOf(0x0a);
  const nl2 = bytes.indexOf(0x0a, nl1 + 1);
  const nl3 = bytes.indexOf(0x0a, nl2 + 1);
  return {
    header: JSON.parse(bytes.subarray(nl1 + 1, nl2).toString('utf8')) as Record<string, unknown>,
    headerStart: nl1 + 1,
    checksumStart: nl2 + 1,
    payloadStart: nl3 + 1,
  };
}

/**
 * A well-formed snapshot (header counts, payload size, checksum all agreeing)
 * of `snapshot`'s state changed by `edit`, run on its SQLite payload.
 */
function editedSnapshot(snapshot: Buffer, scratch: string, edit: (db: Database.Database) => void): Buffer {
  const { header, payloadStart } = splitSnapshot(snapshot);
  writeFileSync(scratch, snapshot.subarray(payloadStart));
  const db = new Database(scratch);
  try {
    edit(db);
  } finally {
    db.close();
  }
  const payload = readFileSync(scratch);
  const counts = { ...(header.counts as Record<string, number>) };
  const image = new Database(scratch, { readonly: true });
  try {
    counts.dedupe_ids = image.prepare('SELECT COUNT(*) FROM dedupe').pluck().get() as number;
  } finally {
    image.close();
  }
  const headerLine = `${JSON.stringify({ ...header, counts, payload_bytes: payload.length })}\n`;
  const sha = createHash('sha256').update(headerLine).update(payload).digest('hex');
  return Buffer.concat([Buffer.from(`STATESYNC-SNAPSHOT 1\n${headerLine}sha256 ${sha}\n`), payload]);
}

// ---------------------------------------------------------------------------
// 1. SQLite → PostgreSQL → SQLite
// ---------------------------------------------------------------------------

describe('a snapshot moves state SQLite → PostgreSQL → SQLite unchanged', () => {
  const tmp = useTempDir('pgsnap-roundtrip');

  it('query, watch, status and inspect read the same on every hop, and the snapshot tables come back row for row', async () => {
    const src = tmp.path('src.db');
    const retain = ['--retain', '3650d'];

    // words (count, processing time, 1m windows): 10:00 published twice provisional, then final
    // once a run at 10:05 passed it; 10:05 provisional; 10:02 open (a run killed after committing,
    // on a clock behind the others', so its watermark holds nothing back that was published).
    const small = ['to be or not to be\nthat is the question\n', 'whether tis nobler in the mind\nto suffer\n', 'the slings and arrows\nbe be be\n'];
    for (const [i, text] of small.entries()) await writeFile(tmp.path(`small-${i}.txt`), text);
    const words = (i: number) => ['count', tmp.path(`small-${i}.txt`), '--db', src, '--job', 'words', '--window', '1m', ...retain, '--quiet'];
    await runCliOk(words(0), { env: { STATESYNC_NOW: '2026-03-01T10:00:00Z' } });
    await runCliOk(words(1), { env: { STATESYNC_NOW: '2026-03-01T10:00:20Z' } });
    await runCliOk(words(2), { env: { STATESYNC_NOW: '2026-03-01T10:05:00Z' } });
    await leaveOpenWindow(src, 'words', ['count', '--window', '1m', ...retain], 'an open window\n', { STATESYNC_NOW: '2026-03-01T10:02:00Z' });

    // bytes (event-time sum, 10s windows, 5s lateness): final windows, a provisional one at the end
    // of the file (its last event at +299 s, watermark +294 s), and the next one open (a stdin run
    // killed after committing an event at +301 s: its watermark, +296 s, leaves the one before alone).
    const startS = Date.UTC(2026, 0, 1) / 1000;
    const events = eventFile(3000, startS, 3);
    await writeFile(tmp.path('events.txt'), events.text);
    const bytesSpec = ['--key', 'field=2', '--value', 'field=3', '--time', 'field=1', '--window', '10s', '--lateness', '5s', ...retain];
    await runCliOk(['sum', tmp.path('events.txt'), '--db', src, '--job', 'bytes', ...bytesSpec, '--quiet']);
    await leaveOpenWindow(src, 'bytes', ['sum', ...bytesSpec], `${startS + 301} u1 5\n`);

    // ids (--dedupe, processing time): duplicates counted, ids kept.
    const ids = await runCli(
      ['count', '--db', src, '--job', 'ids', '--key', 'field=2', '--dedupe', 'field=1', '--dedupe-ttl', '3650d', '--window', '1m', ...retain, '--quiet'],
      { input: 'i1 a\ni2 b\ni1 a\ni3 a\ni2 b\ni4 c\n', env: { STATESYNC_NOW: '2026-03-01T10:05:10Z' } },
    );
    expect(ids.exitCode, ids.stderr).toBe(0);

    // latency (event-time avg over JSON): fractional values and keys every format must escape.
    await writeFile(tmp.path('latency.jsonl'), latencyFile(400, Date.UTC(2026, 2, 1, 10)));
    await runCliOk([
      'avg', tmp.path('latency.jsonl'), '--db', src, '--job', 'latency', '--key', 'json=user', '--value', 'json=ms', '--time', 'json=ts',
      '--window', '1m', ...retain, '--quiet',
    ]);

    const before = await clusterStatus(src);
    expect(before.jobs.map((j) => j.job).sort()).toEqual(['bytes', 'ids', 'latency', 'words']);
    for (const job of ['words', 'bytes']) {
      const j = before.jobs.find((x) => x.job === job)!;
      expect(j.open_windows, `${job} open`).toBeGreaterThan(0);
      expect(j.provisional_windows, `${job} provisional`).toBeGreaterThan(0);
      expect(j.finalized_windows, `${job} final`).toBeGreaterThan(0);
    }
    expect(before.jobs.find((j) => j.job === 'ids')).toMatchObject({ records: 4, duplicates: 2 });
    const expected = await readings(src);
    expect(expected['query -f json']).toMatch(/"state":"open"/);
    expect(expected['query -f json']).toMatch(/"state":"provisional"/);
    expect(expected['query -f json']).toMatch(/"state":"final"/);
    expect(expected['query -f tsv']).toContain('tab\\there');
    expect(expected['query --window -f tsv'].length).toBeGreaterThan(0);
    expect(expected['watch --from 3 --job words -f csv'].length).toBeGreaterThan(0);
    const expectedStatus = await stateStatus(src);

    // SQLite → PostgreSQL.
    const fromSqlite = tmp.path('from-sqlite.snap');
    await runCliOk(['snapshot', 'export', '--db', src, '-o', fromSqlite]);
    const pgDb = await freshDatabaseUrl();
    const restored = await runCli(['snapshot', 'restore', fromSqlite, '--db', pgDb]);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(restored.stderr).toContain('restored 4 jobs');
    const onPg = await readings(pgDb);
    for (const [view, text] of Object.entries(expected)) expect(onPg[view], `${view} on PostgreSQL`).toBe(text);
    expect(await stateStatus(pgDb)).toEqual(expectedStatus);

    // PostgreSQL → SQLite.
    const fromPg = tmp.path('from-pg.snap');
    await runCliOk(['snapshot', 'export', '--db', pgDb, '-o', fromPg]);
    const back = tmp.path('back.db');
    const restoredBack = await runCli(['snapshot', 'restore', fromPg, '--db', back]);
    expect(restoredBack.exitCode, restoredBack.stderr).toBe(0);
    const onBack = await readings(back);
    for (const [view, text] of Object.entries(expected)) expect(onBack[view], `${view} back on SQLite`).toBe(text);
    expect(await stateStatus(back)).toEqual(expectedStatus);
    expect(sqliteSnapshotRows(back)).toEqual(sqliteSnapshotRows(src));

    // Both snapshots describe the same state.
    expect(await inspected(fromPg)).toEqual(await inspected(fromSqlite));
    expect((await inspected(fromPg)) as { ok: boolean }).toMatchObject({ ok: true });
    expect(await inspectedCountsLine(fromPg)).toBe(await inspectedCountsLine(fromSqlite));

    // The restored dedupe ids still work: the same input skips the same ids on both backends.
    for (const db of [pgDb, back]) {
      const again = await runCli(
        ['count', '--db', db, '--job', 'ids', '--key', 'field=2', '--dedupe', 'field=1', '--dedupe-ttl', '3650d', '--window', '1m', ...retain, '--quiet'],
        { input: 'i1 a\ni5 d\ni4 c\n', env: { STATESYNC_NOW: '2026-03-01T10:05:20Z' } },
      );
      expect(again.exitCode, again.stderr).toBe(0);
    }
    const idsOn = async (db: string) => (await runCliOk(['query', '--db', db, '--job', 'ids', '-f', 'json'])).stdout;
    expect(await idsOn(pgDb)).toBe(await idsOn(back));
    expect(await idsOn(pgDb)).toMatch(/"key":"d","value":1,/);
    for (const db of [pgDb, back]) {
      expect((await clusterStatus(db)).jobs.find((j) => j.job === 'ids'), db).toMatchObject({ records: 5, duplicates: 4 });
    }
  }, 180_000);
});

// ---------------------------------------------------------------------------
// 2. Exactly-once across a restore
// ---------------------------------------------------------------------------

describe('a file source continues exactly-once after a restore into the other backend', () => {
  const tmp = useTempDir('pgsnap-continue');

  it.each([
    ['SQLite → PostgreSQL', 'sqlite', 'postgres'],
    ['PostgreSQL → SQLite', 'postgres', 'sqlite'],
  ] as const)('%s', async (_name, fromKind, toKind) => {
    const dir = tmp.newDir();
    const dbOf = async (kind: 'sqlite' | 'postgres', name: string) => (kind === 'postgres' ? freshDatabaseUrl() : `${dir}/${name}.db`);
    const from = await dbOf(fromKind, 'from');
    const to = await dbOf(toKind, 'to');
    const env = { STATESYNC_NOW: '2026-05-01T08:00:00Z' };

    // Two growing files, each written up to a cut in the middle of a line.
    const corpus = generateWordCorpus(seededRandom(fromKind === 'sqlite' ? 0x9c01 : 0x9c02), 1024 * 1024, 4000);
    const events = eventFile(40_000, Date.UTC(2026, 0, 1) / 1000, fromKind === 'sqlite' ? 5 : 6);
    const eventBytes = Buffer.from(events.text);
    const wordsFile = `${dir}/words.txt`;
    const eventsFile = `${dir}/events.txt`;
    const wordsCut = midLine(corpus, 0.55);
    const eventsCut = midLine(eventBytes, 0.45);
    writeFileSync(wordsFile, corpus.subarray(0, wordsCut));
    writeFileSync(eventsFile, eventBytes.subarray(0, eventsCut));
    const wordsRun = (db: string) => ['count', wordsFile, '--db', db, '--job', 'words', '--window', '1h', '--retain', '3650d', '--quiet'];
    const sumsRun = (db: string) => [
      'sum', eventsFile, '--db', db, '--job', 'sums', '--key', 'field=2', '--value', 'field=3', '--time', 'field=1',
      '--window', '10s', '--lateness', '2s', '--retain', '3650d', '--quiet',
    ];

    const first = await Promise.all([runCli(wordsRun(from), { env }), runCli(sumsRun(from), { env })]);
    for (const r of first) {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/bytes after the last newline are left for the next run/);
    }
    const offsets = new Map((await status(from)).sources.map((s) => [s.job, s.offset]));
    expect(offsets.get('words')).toBe(corpus.lastIndexOf(0x0a, wordsCut - 1) + 1);
    expect(offsets.get('sums')).toBe(eventBytes.lastIndexOf(0x0a, eventsCut - 1) + 1);

    const snap = `${dir}/state.snap`;
    await runCliOk(['snapshot', 'export', '--db', from, '-o', snap]);
    const restored = await runCli(['snapshot', 'restore', snap, '--db', to]);
    expect(restored.exitCode, restored.stderr).toBe(0);

    // The files grow (same inode, so the same sources); the same commands run on the other backend.
    appendFileSync(wordsFile, corpus.subarray(wordsCut));
    appendFileSync(eventsFile, eventBytes.subarray(eventsCut));
    const second = await Promise.all([runCli(wordsRun(to), { env }), runCli(sumsRun(to), { env })]);
    expect(second[0].exitCode, second[0].stderr).toBe(0);
    expect(second[0].stderr).toContain(`resuming after ${offsets.get('words')} bytes`);
    expect(second[1].exitCode, second[1].stderr).toBe(0);
    expect(second[1].stderr).toContain(`resuming after ${offsets.get('sums')} bytes`);

    // Totals equal an independent count of the whole files: nothing twice, nothing lost.
    const wordTruth = wordCounts(corpus.toString('utf8'));
    const rows = parseJsonLines((await runCliOk(['query', '--db', to, '--format', 'json'])).stdout);
    expect(duplicatedWindowKeys(rows)).toEqual([]);
    expect(countDifferences(sumByKey(rows.filter((r) => r.job === 'words')), wordTruth)).toEqual([]);
    expect(countDifferences(sumByKey(rows.filter((r) => r.job === 'sums')), events.sums)).toEqual([]);
    const after = await status(to);
    expect(after.jobs.find((j) => j.job === 'words')).toMatchObject({ records: total(wordTruth), late: 0, rejected: 0 });
    expect(after.jobs.find((j) => j.job === 'sums')).toMatchObject({ records: 40_000, late: 0, rejected: 0 });
    expect(new Map(after.sources.map((s) => [s.job, s.offset]))).toEqual(
      new Map([
        ['words', statSync(wordsFile).size],
        ['sums', statSync(eventsFile).size],
      ]),
    );
    // A third run finds both files consumed.
    const third = await runCli(wordsRun(to), { env });
    expect(third.exitCode, third.stderr).toBe(0);
    expect(third.stderr).toMatch(/already consumed/);
  }, 120_000);
});

// ---------------------------------------------------------------------------
// 3. Restore into PostgreSQL is all or nothing
// ---------------------------------------------------------------------------

describe('a restore into PostgreSQL replaces the state whole or not at all', () => {
  const tmp = useTempDir('pgsnap-atomic');

  it('refuses damaged snapshots, survives a refused row and a SIGKILL mid-transaction unchanged, and restores through pipes', async () => {
    // The target: a provisional window, an open one (its killed worker's row stays), dedupe ids.
    const target = await freshDatabaseUrl();
    await writeFile(tmp.path('mine.txt'), 'one two three\nthree\n');
    await runCliOk(['count', tmp.path('mine.txt'), '--db', target, '--job', 'mine', '--window', '1h', '--quiet'], {
      env: { STATESYNC_NOW: '2026-02-02T00:00:00Z' },
    });
    await leaveOpenWindow(target, 'mine', ['count', '--window', '1h'], 'still open\n', { STATESYNC_NOW: '2026-02-02T05:00:00Z' });
    const ids = await runCli(['count', '--db', target, '--job', 'ids', '--key', 'field=2', '--dedupe', 'field=1', '--dedupe-ttl', '3650d', '--quiet'], {
      input: 'a x\nb y\na x\n',
    });
    expect(ids.exitCode, ids.stderr).toBe(0);
    const targetDigest = await pgStateDigest(target);
    const targetQuery = (await runCliOk(['query', '--db', target, '-f', 'json'])).stdout;
    expect(targetQuery).toMatch(/"state":"open"/);
    const targetStatus = await stateStatus(target);
    const unchanged = async (what: string) => {
      expect(await pgStateDigest(target), `every table after ${what}`).toBe(targetDigest);
      expect((await runCliOk(['query', '--db', target, '-f', 'json'])).stdout, `query after ${what}`).toBe(targetQuery);
      expect(await stateStatus(target), `status after ${what}`).toEqual(targetStatus);
    };

    // The snapshot: 200,000 dedupe ids (so that a restore takes a while) and a word count.
    const src = tmp.path('src.db');
    const idLines = Array.from({ length: 200_000 }, (_, i) => `id${i} k${i % 50}\n`).join('');
    await writeFile(tmp.path('ids.txt'), idLines);
    await runCliOk(['count', tmp.path('ids.txt'), '--db', src, '--job', 'bulk', '--key', 'field=2', '--dedupe', 'field=1', '--dedupe-ttl', '3650d', '--quiet']);
    await writeFile(tmp.path('words.txt'), 'alpha beta gamma\nalpha beta\nalpha\n');
    await runCliOk(['count', tmp.path('words.txt'), '--db', src, '--job', 'words', '--window', '1m', '--quiet']);
    const goodSnap = tmp.path('good.snap');
    await runCliOk(['snapshot', 'export', '--db', src, '-o', goodSnap]);
    const good = readFileSync(goodSnap);
    const { payloadStart, checksumStart } = splitSnapshot(good);
    const flip = (at: number): Buffer => {
      const copy = Buffer.from(good);
      copy[at] = copy[at]! ^ 0x10;
      return copy;
    };

    // Damaged files: refused with exit 2 before the server is touched.
    const damaged: Array<[string, Buffer]> = [
      ['a byte flipped in the payload', flip(payloadStart + Math.floor((good.length - payloadStart) / 2))],
      ['a byte flipped in the checksum line', flip(checksumStart + 10)],
      ['truncated to half', good.subarray(0, Math.floor(good.length / 2))],
      ['truncated by one byte', good.subarray(0, good.length - 1)],
      ['truncated inside the header', good.subarray(0, 60)],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [i, [name, bytes]] of damaged.entries()) {
      const file = tmp.path(`damaged-${i}.snap`);
      writeFileSync(file, bytes);
      const r = await runCli(['snapshot', 'restore', file, '--db', target]);
      expect(r.exitCode, `restore of a snapshot ${name}: ${r.stderr}`).toBe(2);
      expectOneErrorLine(r, `restore of a snapshot ${name}`);
      expect(r.stdout).toBe('');
    }
    // The same through a pipe: a stream cut short, and one with a damaged payload.
    const cut = await runPipeline(`head -c ${good.length - 4096} ${shellQuote(goodSnap)} | ${cliWords(['snapshot', 'restore', '-', '--db', target])}`);
    expect(cut.exitCode, cut.stderr).toBe(2);
    expectOneErrorLine(cut, 'restore of a stream cut short');
    expect(cut.stderr).toMatch(/stdin is truncated/);
    const flippedFile = tmp.path('damaged-0.snap');
    const flippedPipe = await runPipeline(`cat ${shellQuote(flippedFile)} | ${cliWords(['snapshot', 'restore', '-', '--db', target])}`);
    expect(flippedPipe.exitCode, flippedPipe.stderr).toBe(2);
    expectOneErrorLine(flippedPipe, 'restore of a damaged stream');
    await unchanged('the damaged snapshots');

    // A well-formed snapshot whose dedupe table holds an id PostgreSQL's text cannot store (a NUL):
    // the server refuses it after jobs, sources, deltas and results were already replaced.
    const nulSnap = tmp.path('nul-id.snap');
    writeFileSync(
      nulSnap,
      editedSnapshot(good, tmp.path('nul-id.db'), (db) => db.prepare("INSERT INTO dedupe (job, id, expires_at) VALUES ('bulk', 'x' || char(0) || 'y', 1)").run()),
    );
    const intoSqlite = await runCli(['snapshot', 'restore', nulSnap, '--db', tmp.path('nul-check.db')]);
    expect(intoSqlite.exitCode, `the edited snapshot is valid: ${intoSqlite.stderr}`).toBe(0);
    const refused = await runCli(['snapshot', 'restore', nulSnap, '--db', target]);
    expect(refused.exitCode, refused.stderr).toBe(1);
    expectOneErrorLine(refused, 'restore the server refuses');
    expect(refused.stderr).toMatch(/^statesync: PostgreSQL at 127\.0\.0\.1:\d+: invalid byte sequence for encoding "UTF8": 0x00$/m);
    await unchanged('a restore the server refused mid-transaction');

    // A restore SIGKILLed while it inserts the dedupe ids, the other tables already replaced in its transaction.
    const killed = spawnCli(['snapshot', 'restore', goodSnap, '--db', target]);
    const killedDone = collect(killed, 60_000);
    killed.stdin.end();
    await waitFor(
      'the restore to be inserting dedupe ids',
      async () => (await statesyncSessions(target)).some((s) => s.state === 'active' && /^INSERT INTO dedupe/.test(s.query)),
      30_000,
      5,
    );
    killed.kill('SIGKILL');
    expect((await killedDone).signal).toBe('SIGKILL');
    await waitFor('the killed restore session to end', async () => (await statesyncSessions(target)).length === 0, 15_000, 20);
    await unchanged('a restore SIGKILLed mid-transaction');

    // export | restore - through shell pipes: SQLite → PostgreSQL, then PostgreSQL → SQLite.
    const expected = (await runCliOk(['query', '--db', src, '-f', 'json'])).stdout;
    const piped = await runPipeline(`${cliWords(['snapshot', 'export', '--db', src])} | ${cliWords(['snapshot', 'restore', '-', '--db', target])}`);
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(piped.stderr).toMatch(/restored 2 jobs/);
    expect((await runCliOk(['query', '--db', target, '-f', 'json'])).stdout).toBe(expected);
    expect(await stateStatus(target)).toEqual(await stateStatus(src));
    expect(await pgStateDigest(target)).not.toBe(targetDigest);
    const back = tmp.path('back.db');
    const pipedBack = await runPipeline(`${cliWords(['snapshot', 'export', '--db', target])} | ${cliWords(['snapshot', 'restore', '-', '--db', back])}`);
    expect(pipedBack.exitCode, pipedBack.stderr).toBe(0);
    expect((await runCliOk(['query', '--db', back, '-f', 'json'])).stdout).toBe(expected);
    expect(sqliteSnapshotRows(back)).toEqual(sqliteSnapshotRows(src));
  }, 180_000);
});
