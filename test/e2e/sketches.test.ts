// quantile and distinct end to end: real processes, one database shared by workers (SQLite and PostgreSQL),
// SIGKILL and rerun, snapshots, and the readers (query, watch, status) of sketch jobs.
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../support/pg.js';
import {
  collect,
  committedOffset,
  peekDb,
  runCli,
  runCliOk,
  seededRandom,
  spawnCli,
  useTempDir,
  waitFor,
  expectExit,
} from './helpers.js';

const tmp = useTempDir('sketches');
// Every process starts its clock at the same instant: all in one 1-day window, whatever the wall clock.
const env = { STATESYNC_NOW: '2026-03-01T12:00:00Z' };

interface SketchRow {
  readonly job: string;
  readonly key: string;
  readonly value?: number;
  readonly p50?: number;
  readonly p90?: number;
  readonly p99?: number;
  readonly state?: string;
  readonly revision?: number;
  readonly final?: boolean;
}

function rowsOf(stdout: string): SketchRow[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as SketchRow);
}

/** Lines `endpoint latency user`: a skewed (log-normal) latency per endpoint, users from a pool per endpoint. */
function accessLog(seed: number, lines: number, users: readonly [from: number, to: number]): string {
  const random = seededRandom(seed);
  const endpoints = ['/home', '/search', '/cart', '/login'];
  let text = '';
  for (let i = 0; i < lines; i++) {
    const e = Math.floor(random() * endpoints.length);
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const latency = Math.exp(2 + e * 0.5 + 0.8 * normal);
    const user = users[0] + Math.floor(random() * (users[1] - users[0]));
    text += `${endpoints[e]} ${latency.toFixed(3)} u${user}\n`;
  }
  return text;
}

const quantileArgs = (file: string, db: string) => ['quantile', file, '--db', db, '--job', 'latency', '--key', 'field=1', '--value', 'field=2', '--window', '1d', '--quiet'];
const distinctArgs = (file: string, db: string) => ['distinct', file, '--db', db, '--job', 'users', '--key', 'field=1', '--value', 'field=3', '--window', '1d', '--quiet'];

/** `query --format json` of a database: every row of every job, in output order. */
async function query(db: string, ...extra: string[]): Promise<SketchRow[]> {
  return rowsOf((await runCliOk(['query', '--db', db, '--format', 'json', ...extra])).stdout);
}

/** Both jobs run by one process each over the whole input: what any split must come out as. */
async function oneWorker(text: string): Promise<SketchRow[]> {
  const db = tmp.newDb();
  const file = tmp.path(`whole-${db.replace(/\W/g, '')}.txt`);
  await writeFile(file, text);
  expectExit(await runCli(quantileArgs(file, db), { env }), 0);
  expectExit(await runCli(distinctArgs(file, db), { env }), 0);
  return query(db);
}

describe.each([
  ['SQLite', async () => tmp.newDb()],
  ['PostgreSQL', freshDatabaseUrl],
])('two workers on one %s database', (_name, newDb) => {
  it('merge their sketches: distinct counts a user both saw once, quantiles are those of all values', async () => {
    const db = await newDb();
    // Users 0..699 on one side, 400..1099 on the other: 1100 in all, 300 seen by both.
    const a = accessLog(1, 6000, [0, 700]);
    const b = accessLog(2, 6000, [400, 1100]);
    await writeFile(tmp.path('a.txt'), a);
    await writeFile(tmp.path('b.txt'), b);
    const runs = await Promise.all(
      ['a.txt', 'b.txt'].flatMap((f) => [quantileArgs(tmp.path(f), db), distinctArgs(tmp.path(f), db)]).map((args) => runCli(args, { env })),
    );
    for (const run of runs) expectExit(run, 0);
    const rows = await query(db);
    expect(rows).toEqual(await oneWorker(a + b));
    // Exact where a key saw at most 1024 users: the union, each user once.
    const users = (text: string, endpoint: string) =>
      new Set(text.split('\n').filter((l) => l.startsWith(`${endpoint} `)).map((l) => l.split(' ')[2]));
    for (const endpoint of ['/home', '/search', '/cart', '/login']) {
      const union = new Set([...users(a, endpoint), ...users(b, endpoint)]);
      const row = rows.find((r) => r.job === 'users' && r.key === endpoint)!;
      if (union.size <= 1024) expect(row.value).toBe(union.size);
      else expect(Math.abs(row.value! - union.size) / union.size).toBeLessThan(0.02);
    }
    // And every quantile within 1% of the exact value at its rank.
    for (const endpoint of ['/home', '/search', '/cart', '/login']) {
      const values = (a + b)
        .split('\n')
        .filter((l) => l.startsWith(`${endpoint} `))
        .map((l) => Number(l.split(' ')[1]))
        .sort((x, y) => x - y);
      const row = rows.find((r) => r.job === 'latency' && r.key === endpoint)!;
      for (const [q, estimate] of [[0.5, row.p50], [0.9, row.p90], [0.99, row.p99]] as const) {
        const exact = values[Math.max(0, Math.ceil(q * values.length) - 1)]!;
        expect(Math.abs(estimate! - exact), `${endpoint} p${q * 100}`).toBeLessThanOrEqual(0.01 * exact);
      }
    }
  });
});

describe('SIGKILL mid-run, then a rerun', () => {
  it.each([
    ['quantile', quantileArgs],
    ['distinct', distinctArgs],
  ])('%s: the rerun resumes after the committed offset and the result is exactly that of one uninterrupted run', async (_name, args) => {
    const db = tmp.newDb();
    const file = tmp.path(`kill-${_name}.txt`);
    // Users from a pool of 50k: the endpoints' sketches are registers, and a double count would show.
    const text = accessLog(3, 120_000, [0, 50_000]);
    await writeFile(file, text);
    const child = spawnCli([...args(file, db), '--commit-interval', '10ms'], { env });
    const done = collect(child);
    child.stdin.end();
    await waitFor('a first commit', () => (committedOffset(db) ?? 0) > 0 || undefined, 15_000, 2);
    child.kill('SIGKILL');
    const killed = await done;
    const offset = committedOffset(db)!;
    if (killed.signal === 'SIGKILL') expect(offset).toBeLessThan(Buffer.byteLength(text));
    const rerun = await runCli(args(file, db), { env });
    expectExit(rerun, 0);
    if (killed.signal === 'SIGKILL') expect(rerun.stderr).toContain(`resuming after ${offset} bytes already committed`);
    const uninterrupted = tmp.newDb();
    expectExit(await runCli(args(file, uninterrupted), { env }), 0);
    const strip = (rows: SketchRow[]) => rows.map(({ revision: _r, ...row }) => row);
    expect(strip(await query(db))).toEqual(strip(await query(uninterrupted)));
    const st = JSON.parse((await runCliOk(['status', '--db', db, '--format', 'json'])).stdout) as { jobs: Array<{ records: number }> };
    expect(st.jobs[0]!.records).toBe(120_000);
  });
});

describe('snapshots and readers of sketch jobs', () => {
  it('a snapshot restores the sketches of open and final windows; a restored database goes on merging', async () => {
    const db = tmp.newDb();
    const first = tmp.path('snap-1.txt');
    const second = tmp.path('snap-2.txt');
    const firstText = accessLog(4, 3000, [0, 500]);
    const secondText = accessLog(5, 3000, [300, 800]);
    await writeFile(first, firstText);
    await writeFile(second, secondText);
    expectExit(await runCli(quantileArgs(first, db), { env }), 0);
    expectExit(await runCli(distinctArgs(first, db), { env }), 0);
    // The windows are provisional (their day is not over): their sketches stay in the deltas.
    expect(peekDb(db, (d) => d.prepare('SELECT COUNT(*) FROM deltas WHERE sketches IS NOT NULL').pluck().get())).toBeGreaterThan(0);
    const snap = tmp.path('sketches.snap');
    await runCliOk(['snapshot', 'export', '--db', db, '-o', snap]);
    const restored = tmp.newDb();
    await runCliOk(['snapshot', 'restore', snap, '--db', restored]);
    expect(await query(restored)).toEqual(await query(db));
    // The second file into both: the restored sketches merge with it exactly as the original ones.
    for (const target of [db, restored]) {
      expectExit(await runCli(quantileArgs(second, target), { env }), 0);
      expectExit(await runCli(distinctArgs(second, target), { env }), 0);
    }
    const after = await query(restored);
    expect(after).toEqual(await query(db));
    const homeUsers = new Set((firstText + secondText).split('\n').filter((l) => l.startsWith('/home ')).map((l) => l.split(' ')[2]));
    expect(after.find((r) => r.job === 'users' && r.key === '/home')!.value).toBe(homeUsers.size);
    expect(after.every((r) => r.state === 'provisional' && r.revision === undefined)).toBe(true);
  });

  it('query, watch and status show quantile jobs with their q columns and definition', async () => {
    const db = tmp.newDb();
    const file = tmp.path('readers.txt');
    await writeFile(file, '/a 10\n/a 20\n/a 30\n/b 5\n/b -1\n/b x\n');
    const run = await runCli(['quantile', file, '--db', db, '--key', 'field=1', '--value', 'field=2', '--window', '1d', '--q', '1,0.5', '-f', 'csv'], { env });
    expectExit(run, 0);
    expect(run.stderr).toBe('statesync: rejected 1 record (1 bad value)\n');
    expect(run.stdout).toBe(
      'window_start,window_end,key,p50,p100,revision,final\n' +
        '2026-03-01T00:00:00.000Z,2026-03-02T00:00:00.000Z,/a,20.08,30,1,false\n' +
        '2026-03-01T00:00:00.000Z,2026-03-02T00:00:00.000Z,/b,-1,5,1,false\n',
    );
    expect((await runCliOk(['watch', '--db', db, '-f', 'tsv'])).stdout).toBe(
      '2026-03-01T00:00:00.000Z\t2026-03-02T00:00:00.000Z\t/a\t20.08\t30\t1\t1\tfalse\n' +
        '2026-03-01T00:00:00.000Z\t2026-03-02T00:00:00.000Z\t/b\t-1\t5\t1\t1\tfalse\n',
    );
    expect(rowsOf((await runCliOk(['query', '--db', db, '-f', 'json', '--key', '/b'])).stdout)).toEqual([
      { job: 'default', window_start: '2026-03-01T00:00:00.000Z', window_end: '2026-03-02T00:00:00.000Z', key: '/b', p50: -1, p100: 5, state: 'provisional' },
    ]);
    const st = JSON.parse((await runCliOk(['status', '--db', db, '--format', 'json'])).stdout) as {
      jobs: Array<{ definition: Record<string, unknown>; records: number; rejected: number }>;
    };
    expect(st.jobs[0]).toMatchObject({ definition: { reduction: 'quantile', value: 'field=2', q: '0.5,1' }, records: 5, rejected: 1 });
    // The q list is part of the job: another one is refused, naming it.
    const other = await runCli(['quantile', file, '--db', db, '--key', 'field=1', '--value', 'field=2', '--window', '1d'], { env });
    expectExit(other, 2);
    expect(other.stderr).toContain('q 0.5,1 (this run: 0.5,0.9,0.99)');
  });
});
