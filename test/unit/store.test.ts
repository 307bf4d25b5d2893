// What only the SQLite adapter does: schema and migrations, WAL, file handling. The protocol
// every backend follows is tested in test/conformance.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { DeltaColumns } from '../../src/model.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import { reducerFor } from '../../src/reducers/reducers.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import type { CommitBatch, JobDefinition, Liveness, SourceProgress } from '../../src/state/port.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/state/sqlite/schema.js';
import { SqliteStore } from '../../src/state/sqlite/store.js';

const summarize = summarizerFor(reducerFor('count'));
const summarizeAny = (): typeof summarize => summarize;
const liveness: Liveness = { host: 'test-host', timeoutMs: 60_000, pidAlive: () => true };

const JOB = 'default';
const DEFINITION: JobDefinition = { reduction: 'count', window: '5s', key: 'word' };
const RETAIN_MS = 3_600_000;
const W0 = 1_764_151_200_000; // a 5 s window start

function counts(entries: Record<string, number>): DeltaColumns {
  const table = new PartialTable(false);
  for (const [key, count] of Object.entries(entries)) table.mergePartial(key, count, 0, 0, Infinity, -Infinity);
  return table;
}

function batch(windows: ReadonlyArray<[start: number, entries: Record<string, number>]>, sources: readonly SourceProgress[] = []): CommitBatch {
  let records = 0;
  for (const [, entries] of windows) for (const n of Object.values(entries)) records += n;
  return {
    job: JOB,
    now: W0,
    windows: windows.map(([start, entries]) => ({ start, end: start + 5_000, delta: counts(entries) })),
    sources,
    records,
    rejected: 0,
    late: 0,
  };
}

function source(fromOffset: number, toOffset: number, lines: number, name = 'file:/data/in.log', maxEventTime: number | null = null): SourceProgress {
  return { source: name, kind: 'file', fromOffset, toOffset, lines, maxEventTime };
}

let dir: string;
const opened: SqliteStore[] = [];

function openStore(path: string | null, options: { mustExist?: boolean } = {}): SqliteStore {
  const store = SqliteStore.open(path, options);
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statesync-store-'));
});

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('schema and migrations', () => {
  it('SCHEMA_VERSION is the number of migrations', () => {
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.length).toBeGreaterThan(0);
  });

  it('a fresh in-memory database is migrated to the latest version', async () => {
    const store = openStore(null);
    const status = await store.status(liveness, W0);
    expect(status.database).toBe(':memory:');
    expect(status.schemaVersion).toBe(MIGRATIONS.length);
    expect(status.jobs).toEqual([]);
    expect(status.databaseBytes).toBe(0);
    expect(status.walBytes).toBe(0);
  });

  it('a fresh file database gets every migration, STRICT tables and WAL mode', async () => {
    const path = join(dir, 'state.db');
    await openStore(path).close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db.prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{
        name: string;
        strict: number;
      }>;
      expect(tables.map((t) => t.name)).toEqual(['dedupe', 'deltas', 'jobs', 'results', 'sequences', 'sources', 'workers']);
      for (const t of tables) expect(t.strict, `table ${t.name} is STRICT`).toBe(1);
      const views = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'view'").pluck().all();
      expect(views).toEqual(['result_rows']);
    } finally {
      db.close();
    }
  });

  it('schema 2 keeps a schema-1 database\'s publications as final first revisions and numbers on after them', async () => {
    const path = join(dir, 'state.db');
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old
      .prepare('INSERT INTO jobs (job, definition, created_at, retain_ms) VALUES (?, ?, ?, ?)')
      .run(JOB, JSON.stringify(DEFINITION), W0, RETAIN_MS);
    old
      .prepare('INSERT INTO results (seq, job, window_start, window_end, finalized_at, row_count, rows) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(7, JOB, W0, W0 + 5_000, W0 + 5_000, 1, '[["a",2]]');
    old.close();
    const store = SqliteStore.open(path);
    try {
      expect(await store.readPublished(null)).toEqual([
        { job: JOB, start: W0, end: W0 + 5_000, state: 'final', seq: 7, revision: 1, rows: [['a', 2]] },
      ]);
      await store.commit(batch([[W0 + 5_000, { b: 1 }]]));
      const { published } = await store.finalizeReady({ job: JOB, self: null, liveness, summarize, now: W0 + 20_000 });
      expect(published.map((w) => [w.seq, w.revision, w.state])).toEqual([[8, 1, 'provisional']]);
    } finally {
      await store.close();
    }
  });

  it('STRICT tables refuse a value of the wrong type', async () => {
    const path = join(dir, 'state.db');
    await openStore(path).close();
    const db = new Database(path);
    try {
      expect(() => db.prepare('INSERT INTO jobs (job, definition, created_at) VALUES (?, ?, ?)').run('j', '{}', 'not a number')).toThrow(
        /cannot store TEXT value in INTEGER column/,
      );
    } finally {
      db.close();
    }
  });

  it('reopening a database keeps its state and does not run the migrations again', async () => {
    const path = join(dir, 'state.db');
    const first = openStore(path);
    await first.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
    await first.commit(batch([[W0, { a: 2 }]], [source(0, 10, 1)]));
    await first.close();
    const second = openStore(path);
    expect((await second.status(liveness, W0)).schemaVersion).toBe(MIGRATIONS.length);
    expect(await second.jobDefinition(JOB)).toEqual(DEFINITION);
    expect((await second.readOpen(JOB, summarizeAny)).map((w) => w.rows)).toEqual([[['a', 2]]]);
    expect(await second.sourceOffset(JOB, 'file:/data/in.log')).toEqual({ offset: 10, lines: 1, maxEventTime: null, identity: null });
    await second.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer schema with a UsageError, leaving it as it was', async () => {
    const path = join(dir, 'state.db');
    await openStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    let error: unknown;
    try {
      SqliteStore.open(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/newer statesync/);
    expect((error as UsageError).exitCode).toBe(2);
    const after = new Database(path, { readonly: true });
    try {
      expect(after.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 1);
    } finally {
      after.close();
    }
  });

  it('refuses a file that is not a SQLite database with a UsageError', () => {
    const path = join(dir, 'not-a-db');
    writeFileSync(path, 'this is a text file, not a database\n'.repeat(200));
    expect(() => SqliteStore.open(path)).toThrow(UsageError);
    expect(() => SqliteStore.open(path)).toThrow(/is not an SQLite database; give another --db/);
  });
});

describe('status of a file database', () => {
  it('reports database and WAL size', async () => {
    const path = join(dir, 'state.db');
    const store = openStore(path);
    await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
    await store.commit(batch([[W0, { a: 1 }]]));
    const status = await store.status(liveness, W0);
    expect(status.database).toBe(path);
    expect(status.databaseBytes + status.walBytes).toBeGreaterThan(0);
  });
});

describe('SqliteStore.open with mustExist', () => {
  it('refuses a missing database with a UsageError naming the path, and creates nothing', () => {
    const path = join(dir, 'missing.db');
    let error: unknown;
    try {
      SqliteStore.open(path, { mustExist: true });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toContain(path);
    expect(existsSync(path)).toBe(false);
  });

  it('opens an existing database as usual', async () => {
    const path = join(dir, 'state.db');
    const first = openStore(path);
    await first.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
    await first.close();
    const again = openStore(path, { mustExist: true });
    expect(await again.jobNames()).toEqual([JOB]);
  });

  it('without mustExist, a missing database is created', async () => {
    const path = join(dir, 'new.db');
    await openStore(path).close();
    expect(existsSync(path)).toBe(true);
  });

  it('a newer-schema database is still refused with a UsageError when it must exist', async () => {
    const path = join(dir, 'state.db');
    await openStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => SqliteStore.open(path, { mustExist: true })).toThrow(UsageError);
    expect(() => SqliteStore.open(path, { mustExist: true })).toThrow(/newer statesync/);
  });
});

describe('event-time progress of sources', () => {
  it('survives a reopen of a file database', async () => {
    const path = join(dir, 'state.db');
    const first = openStore(path);
    await first.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
    await first.commit(batch([[W0, { a: 1 }]], [source(0, 10, 1, 'in', W0 + 42)]));
    await first.close();
    expect(await openStore(path).sourceOffset(JOB, 'in')).toEqual({ offset: 10, lines: 1, maxEventTime: W0 + 42, identity: null });
  });
});
