import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StaleBatchError, UsageError } from '../../src/errors.js';
import type { DeltaColumns, ResultRow, WindowResult } from '../../src/model.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import { reducerFor } from '../../src/reducers/reducers.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import { orderRows } from '../../src/sinks/order.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/state/schema.js';
import { StateStore, type CommitBatch, type JobDefinition, type SourceProgress } from '../../src/state/store.js';

const summarize = summarizerFor(reducerFor('count'));
const summarizeAny = (): typeof summarize => summarize;

/**
 * The store gives a window's rows in no particular order (the sink orders them
 * for display), so row comparisons put both sides in one canonical order.
 */
const ordered = (rows: readonly ResultRow[]): ResultRow[] => orderRows(rows);
const withOrderedRows = (w: WindowResult): WindowResult => ({ ...w, rows: ordered(w.rows) });

const JOB = 'default';
const DEFINITION: JobDefinition = { reduction: 'count', window: '5s', key: 'word' };
const W0 = 1_764_151_200_000; // a 5 s window start
const W1 = W0 + 5_000;
const W2 = W0 + 10_000;

function counts(entries: Record<string, number>): DeltaColumns {
  const table = new PartialTable(false);
  for (const [key, count] of Object.entries(entries)) table.mergePartial(key, count, 0, 0, Infinity, -Infinity);
  return table;
}

function batch(
  windows: ReadonlyArray<[start: number, entries: Record<string, number>]>,
  sources: readonly SourceProgress[] = [],
  extra: Partial<CommitBatch> = {},
): CommitBatch {
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
    ...extra,
  };
}

function source(
  fromOffset: number,
  toOffset: number,
  lines: number,
  name = 'file:/data/in.log',
  maxEventTime: number | null = null,
): SourceProgress {
  return { source: name, kind: 'file', fromOffset, toOffset, lines, maxEventTime };
}

/** Everything a reader can see, for "nothing changed" comparisons. */
function snapshot(store: StateStore): unknown {
  const status = store.status();
  return {
    open: store.readOpen(null, summarizeAny),
    final: store.readFinal(null),
    jobs: status.jobs,
    sources: status.sources.map((s) => ({ ...s, updatedAt: 0 })),
    openWindows: status.openWindows,
    publishedSeq: status.publishedSeq,
  };
}

let dir: string;
const opened: StateStore[] = [];

function openStore(path: string | null): StateStore {
  const store = StateStore.open(path);
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statesync-store-'));
});

afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('schema and migrations', () => {
  it('SCHEMA_VERSION is the number of migrations', () => {
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.length).toBeGreaterThan(0);
  });

  it('a fresh in-memory database is migrated to the latest version', () => {
    const store = openStore(null);
    const status = store.status();
    expect(status.database).toBe(':memory:');
    expect(status.schemaVersion).toBe(MIGRATIONS.length);
    expect(status.jobs).toEqual([]);
    expect(status.databaseBytes).toBe(0);
    expect(status.walBytes).toBe(0);
  });

  it('a fresh file database gets every migration, STRICT tables and WAL mode', () => {
    const path = join(dir, 'state.db');
    openStore(path).close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      const tables = db.prepare("SELECT name, strict FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{
        name: string;
        strict: number;
      }>;
      expect(tables.map((t) => t.name)).toEqual(['dedupe', 'deltas', 'jobs', 'results', 'sources', 'workers']);
      for (const t of tables) expect(t.strict, `table ${t.name} is STRICT`).toBe(1);
      const views = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'view'").pluck().all();
      expect(views).toEqual(['result_rows']);
    } finally {
      db.close();
    }
  });

  it('STRICT tables refuse a value of the wrong type', () => {
    const path = join(dir, 'state.db');
    openStore(path).close();
    const db = new Database(path);
    try {
      expect(() => db.prepare('INSERT INTO jobs (job, definition, created_at) VALUES (?, ?, ?)').run('j', '{}', 'not a number')).toThrow(
        /cannot store TEXT value in INTEGER column/,
      );
    } finally {
      db.close();
    }
  });

  it('reopening a database keeps its state and does not run the migrations again', () => {
    const path = join(dir, 'state.db');
    const first = openStore(path);
    first.ensureJob(JOB, DEFINITION, W0);
    first.commit(batch([[W0, { a: 2 }]], [source(0, 10, 1)]));
    first.close();
    const second = openStore(path);
    expect(second.status().schemaVersion).toBe(MIGRATIONS.length);
    expect(second.jobDefinition(JOB)).toEqual(DEFINITION);
    expect(second.readOpen(JOB, summarizeAny).map((w) => w.rows)).toEqual([[['a', 2]]]);
    expect(second.sourceOffset(JOB, 'file:/data/in.log')).toEqual({ offset: 10, lines: 1, maxEventTime: null, identity: null });
    second.close();
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    } finally {
      db.close();
    }
  });

  it('refuses a database written by a newer schema with a UsageError, leaving it as it was', () => {
    const path = join(dir, 'state.db');
    openStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    let error: unknown;
    try {
      StateStore.open(path);
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
    expect(() => StateStore.open(path)).toThrow(UsageError);
    expect(() => StateStore.open(path)).toThrow(/is not an SQLite database; give another --db/);
  });
});

describe('ensureJob', () => {
  it('pins the definition on first use and accepts the same definition again', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    expect(store.jobDefinition(JOB)).toEqual(DEFINITION);
    expect(() => store.ensureJob(JOB, { ...DEFINITION }, W0 + 1)).not.toThrow();
    expect(store.jobNames()).toEqual([JOB]);
  });

  it('refuses a different definition, naming each difference with both values', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    let error: unknown;
    try {
      store.ensureJob(JOB, { reduction: 'count', window: '10s', key: 'field=1' }, W0);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).toContain("job 'default'");
    expect(message).toContain('window 5s (this run: 10s)');
    expect(message).toContain('key word (this run: field=1)');
    expect(message).not.toContain('reduction');
    expect(store.jobDefinition(JOB)).toEqual(DEFINITION);
  });

  it('names an option that one side does not have as (unset)', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    expect(() => store.ensureJob(JOB, { ...DEFINITION, delimiter: ',' }, W0)).toThrow(/delimiter \(unset\) \(this run: ,\)/);
    const { key: _key, ...withoutKey } = DEFINITION;
    expect(() => store.ensureJob(JOB, withoutKey, W0)).toThrow(/key word \(this run: \(unset\)\)/);
  });

  it('keeps jobs apart: another job may have another definition', () => {
    const store = openStore(null);
    store.ensureJob('a', DEFINITION, W0);
    store.ensureJob('b', { ...DEFINITION, window: '1m' }, W0);
    expect(store.jobNames()).toEqual(['a', 'b']);
    expect(store.jobDefinition('b')).toEqual({ ...DEFINITION, window: '1m' });
    expect(store.jobDefinition('c')).toBeUndefined();
  });
});

describe('commit and finalizeUpTo', () => {
  function seeded(): StateStore {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    return store;
  }

  it('merges deltas of several commits and publishes each finished window once, with increasing seq', () => {
    const store = seeded();
    store.commit(batch([[W0, { to: 2, be: 1 }]], [source(0, 20, 2)]));
    store.commit(batch([[W0, { be: 1, or: 1 }], [W1, { not: 1 }]], [source(20, 40, 2)]));
    store.commit(batch([[W1, { to: 1, be: 2 }], [W0, { to: 1, question: 3 }]], [source(40, 60, 2)]));

    expect(store.readOpen(JOB, summarizeAny).map((w) => [w.start, w.end, w.state, w.seq, ordered(w.rows)])).toEqual([
      [W0, W1, 'open', null, ordered([['question', 3], ['to', 3], ['be', 2], ['or', 1]])],
      [W1, W2, 'open', null, ordered([['be', 2], ['not', 1], ['to', 1]])],
    ]);

    // Nothing has ended before the first window's end.
    expect(store.finalizeUpTo(JOB, W1 - 1, summarize, W1 - 1)).toEqual([]);

    const first = store.finalizeUpTo(JOB, W1, summarize, W1);
    expect(first.map(withOrderedRows)).toEqual<WindowResult[]>([
      { job: JOB, start: W0, end: W1, state: 'final', seq: 1, rows: ordered([['question', 3], ['to', 3], ['be', 2], ['or', 1]]) },
    ]);
    expect(store.finalizeUpTo(JOB, W1, summarize, W1)).toEqual([]);

    const second = store.finalizeUpTo(JOB, W2 + 60_000, summarize, W2);
    expect(second.map((w) => [w.start, w.seq, ordered(w.rows)])).toEqual([[W1, 2, ordered([['be', 2], ['not', 1], ['to', 1]])]]);
    expect(store.finalizeUpTo(JOB, W2 + 60_000, summarize, W2)).toEqual([]);

    expect(store.readOpen(JOB, summarizeAny)).toEqual([]);
    expect(store.readFinal(JOB)).toEqual([...first, ...second]);
    expect(store.readFinal(JOB, 2)).toEqual(second);
    expect(store.readFinal(null, 3)).toEqual([]);
  });

  it('finalizes several finished windows in one call, oldest first', () => {
    const store = seeded();
    store.commit(batch([[W2, { c: 1 }], [W0, { a: 1 }], [W1, { b: 1 }]]));
    const published = store.finalizeUpTo(JOB, W2 + 5_000, summarize, W2 + 5_000);
    expect(published.map((w) => [w.start, w.seq])).toEqual([
      [W0, 1],
      [W1, 2],
      [W2, 3],
    ]);
  });

  it('records source offsets and lines, and counters, with the deltas', () => {
    const store = seeded();
    store.commit(batch([[W0, { a: 3 }]], [source(0, 100, 10)], { rejected: 2, late: 0 }));
    store.commit(batch([[W0, { a: 1 }]], [source(100, 250, 15), source(0, 7, 1, 'stdin')], { rejected: 1, late: 4 }));
    expect(store.sourceOffset(JOB, 'file:/data/in.log')).toEqual({ offset: 250, lines: 25, maxEventTime: null, identity: null });
    expect(store.sourceOffset(JOB, 'stdin')).toEqual({ offset: 7, lines: 1, maxEventTime: null, identity: null });
    expect(store.sourceOffset(JOB, 'unknown')).toBeUndefined();
    const job = store.status().jobs[0]!;
    expect(job).toMatchObject({ job: JOB, records: 4, rejected: 3, late: 4, duplicates: 0, openWindows: 1, finalizedWindows: 0 });
  });

  it('refuses a batch whose fromOffset does not match the database (a replay) and changes nothing', () => {
    const store = seeded();
    const applied = batch([[W0, { a: 1, b: 2 }]], [source(0, 100, 10)]);
    store.commit(applied);
    const before = snapshot(store);

    // The very same batch again: a replay after a crash between commit and acknowledgement.
    expect(() => store.commit(applied)).toThrow(StaleBatchError);
    // A batch that starts from an older offset.
    expect(() => store.commit(batch([[W0, { a: 5 }]], [source(50, 120, 3)]))).toThrow(StaleBatchError);
    // A batch that starts beyond the committed offset (a gap).
    expect(() => store.commit(batch([[W0, { a: 5 }]], [source(150, 200, 3)]))).toThrow(/offset 100 in the database, but this batch starts at 150/);

    expect(snapshot(store)).toEqual(before);
    expect(ordered(store.readOpen(JOB, summarizeAny)[0]!.rows)).toEqual(ordered([['b', 2], ['a', 1]]));
  });

  it('a batch with one stale source among several is refused whole', () => {
    const store = seeded();
    store.commit(batch([[W0, { a: 1 }]], [source(0, 10, 1, 'one'), source(0, 10, 1, 'two')]));
    const before = snapshot(store);
    expect(() =>
      store.commit(batch([[W0, { a: 1 }], [W1, { z: 1 }]], [source(10, 20, 1, 'one'), source(0, 20, 2, 'two')])),
    ).toThrow(StaleBatchError);
    expect(snapshot(store)).toEqual(before);
    expect(store.sourceOffset(JOB, 'one')).toEqual({ offset: 10, lines: 1, maxEventTime: null, identity: null });
  });

  it('a commit into an already finalized window reports it as late and leaves the published rows alone', () => {
    const store = seeded();
    store.commit(batch([[W0, { a: 2 }]], [source(0, 10, 1)]));
    const published = store.finalizeUpTo(JOB, W1, summarize, W1);
    expect(published).toHaveLength(1);

    const outcome = store.commit(batch([[W0, { a: 5, b: 1 }], [W1, { c: 1 }]], [source(10, 30, 2)], { records: 7 }));
    expect(outcome.lateRecords).toBe(6);
    // The offsets still advance: the late records were handled (counted as late), not lost.
    expect(store.sourceOffset(JOB, 'file:/data/in.log')).toEqual({ offset: 30, lines: 3, maxEventTime: null, identity: null });
    expect(store.readOpen(JOB, summarizeAny).map((w) => w.start)).toEqual([W1]);
    expect(store.finalizeUpTo(JOB, W1, summarize, W1 + 100)).toEqual([]);
    expect(store.readFinal(JOB)).toEqual(published);
    expect(store.status().jobs[0]).toMatchObject({ late: 6, finalizedWindows: 1, openWindows: 1 });
  });

  it('a commit with only fresh windows reports no late records; empty deltas store nothing', () => {
    const store = seeded();
    expect(store.commit(batch([[W0, { a: 1 }], [W1, {}]])).lateRecords).toBe(0);
    expect(store.status().openWindows.map((w) => w.start)).toEqual([W0]);
  });

  it('finalizing one job leaves the windows of another job open', () => {
    const store = seeded();
    store.ensureJob('other', DEFINITION, W0);
    store.commit(batch([[W0, { a: 1 }]]));
    store.commit({ ...batch([[W0, { b: 1 }]]), job: 'other' });
    expect(store.finalizeUpTo(JOB, W1, summarize, W1).map((w) => w.job)).toEqual([JOB]);
    expect(store.readOpen(null, summarizeAny).map((w) => [w.job, w.rows])).toEqual([['other', [['b', 1]]]]);
    expect(store.finalizeUpTo('other', W1, summarize, W1).map((w) => [w.job, w.seq])).toEqual([['other', 2]]);
    expect(store.readFinal('other').map((w) => w.seq)).toEqual([2]);
    expect(store.readFinal(null).map((w) => [w.job, w.seq])).toEqual([
      [JOB, 1],
      ['other', 2],
    ]);
  });

  it('keeps keys intact through the database: multi-byte, commas, quotes, tabs, newlines', () => {
    const store = seeded();
    const keys = ['café', '漢字', '😀👍🏽', 'a,b', 'say "hi"', 'tab\there', 'two\nlines', '\\', ''];
    store.commit(batch([[W0, Object.fromEntries(keys.map((k, i) => [k, i + 1]))]]));
    const [window] = store.finalizeUpTo(JOB, W1, summarize, W1);
    const expected = ordered(keys.map((k, i): ResultRow => [k, i + 1]));
    expect(ordered(window!.rows)).toEqual(expected);
    expect(ordered(store.readFinal(JOB)[0]!.rows)).toEqual(expected);
  });
});

describe('status', () => {
  it('reports jobs, sources, open windows and the published sequence', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    store.commit(batch([[W0, { a: 1, b: 1 }], [W1, { a: 1 }]], [source(0, 30, 3)], { now: W0 + 100, rejected: 1 }));
    store.commit(batch([[W0, { c: 1 }]], [source(30, 40, 1)], { now: W0 + 200 }));
    store.finalizeUpTo(JOB, W0 + 5_000, summarize, W1);
    store.commit(batch([[W2, { d: 1 }]], [source(40, 45, 1)], { now: W1 + 300 }));

    const status = store.status();
    expect(status.schemaVersion).toBe(MIGRATIONS.length);
    expect(status.publishedSeq).toBe(1);
    expect(status.jobs).toEqual([
      { job: JOB, definition: DEFINITION, records: 5, rejected: 1, late: 0, duplicates: 0, openWindows: 2, finalizedWindows: 1 },
    ]);
    expect(status.sources).toEqual([
      { job: JOB, source: 'file:/data/in.log', kind: 'file', offset: 45, lines: 5, maxEventTime: null, clients: 0, refused: 0, updatedAt: W1 + 300 },
    ]);
    expect(status.openWindows).toEqual([
      { job: JOB, start: W1, end: W2, commits: 1, keyRows: 1 },
      { job: JOB, start: W2, end: W2 + 5_000, commits: 1, keyRows: 1 },
    ]);
  });

  it('counts commits and key rows per open window', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    store.commit(batch([[W0, { a: 1, b: 1 }]]));
    store.commit(batch([[W0, { a: 1, c: 1, d: 1 }]]));
    expect(store.status().openWindows).toEqual([{ job: JOB, start: W0, end: W1, commits: 2, keyRows: 5 }]);
  });

  it('reports database and WAL size for a file database', () => {
    const path = join(dir, 'state.db');
    const store = openStore(path);
    store.ensureJob(JOB, DEFINITION, W0);
    store.commit(batch([[W0, { a: 1 }]]));
    const status = store.status();
    expect(status.database).toBe(path);
    expect(status.databaseBytes + status.walBytes).toBeGreaterThan(0);
  });
});

describe('two stores on one database file', () => {
  it('merge their commits and finalize each window exactly once', () => {
    const path = join(dir, 'shared.db');
    const a = openStore(path);
    const b = openStore(path);
    a.ensureJob(JOB, DEFINITION, W0);
    b.ensureJob(JOB, DEFINITION, W0);
    a.commit(batch([[W0, { x: 2 }]], [source(0, 10, 1, 'a')]));
    b.commit(batch([[W0, { x: 1, y: 1 }]], [source(0, 10, 1, 'b')]));
    // Each store refuses a replay of the other's batch.
    expect(() => b.commit(batch([[W0, { x: 2 }]], [source(0, 10, 1, 'a')]))).toThrow(StaleBatchError);

    const byA = a.finalizeUpTo(JOB, W1, summarize, W1);
    const byB = b.finalizeUpTo(JOB, W1, summarize, W1);
    expect(byA.map((w) => [w.seq, ordered(w.rows)])).toEqual([[1, ordered([['x', 3], ['y', 1]])]]);
    expect(byB).toEqual([]);
    expect(b.readFinal(JOB)).toEqual(byA);

    const late = b.commit(batch([[W0, { x: 10 }]], [source(10, 20, 1, 'b')]));
    expect(late.lateRecords).toBe(10);
    expect(a.readFinal(JOB)).toEqual(byA);
  });
});

describe('StateStore.open with mustExist', () => {
  it('refuses a missing database with a UsageError naming the path, and creates nothing', () => {
    const path = join(dir, 'missing.db');
    let error: unknown;
    try {
      StateStore.open(path, { mustExist: true });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toContain(path);
    expect(existsSync(path)).toBe(false);
  });

  it('opens an existing database as usual', () => {
    const path = join(dir, 'state.db');
    const first = openStore(path);
    first.ensureJob(JOB, DEFINITION, W0);
    first.close();
    const again = StateStore.open(path, { mustExist: true });
    opened.push(again);
    expect(again.jobNames()).toEqual([JOB]);
  });

  it('without mustExist, a missing database is created', () => {
    const path = join(dir, 'new.db');
    openStore(path).close();
    expect(existsSync(path)).toBe(true);
  });

  it('a newer-schema database is still refused with a UsageError when it must exist', () => {
    const path = join(dir, 'state.db');
    openStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => StateStore.open(path, { mustExist: true })).toThrow(UsageError);
    expect(() => StateStore.open(path, { mustExist: true })).toThrow(/newer statesync/);
  });
});

describe('event-time progress of sources', () => {
  it('keeps the newest event time with the offset, as the latest batch reports it', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    store.commit(batch([[W0, { a: 1 }]], [source(0, 10, 1, 'in', W0 + 1_500)]));
    expect(store.sourceOffset(JOB, 'in')).toEqual({ offset: 10, lines: 1, maxEventTime: W0 + 1_500, identity: null });
    store.commit(batch([[W1, { a: 1 }]], [source(10, 20, 1, 'in', W1 + 200)]));
    expect(store.sourceOffset(JOB, 'in')).toEqual({ offset: 20, lines: 2, maxEventTime: W1 + 200, identity: null });
    store.commit(batch([], [source(0, 5, 1, 'other', null)]));
    expect(store.status().sources.map((s) => [s.source, s.offset, s.maxEventTime])).toEqual([
      ['in', 20, W1 + 200],
      ['other', 5, null],
    ]);
  });

  it('survives a reopen of a file database', () => {
    const path = join(dir, 'state.db');
    const first = openStore(path);
    first.ensureJob(JOB, DEFINITION, W0);
    first.commit(batch([[W0, { a: 1 }]], [source(0, 10, 1, 'in', W0 + 42)]));
    first.close();
    expect(openStore(path).sourceOffset(JOB, 'in')).toEqual({ offset: 10, lines: 1, maxEventTime: W0 + 42, identity: null });
  });
});

describe('finalizedStartsEndingAfter and earliestOpenWindowEnd', () => {
  it('earliestOpenWindowEnd is the smallest end among open windows of the job, null when none is open', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    store.ensureJob('other', DEFINITION, W0);
    expect(store.earliestOpenWindowEnd(JOB)).toBeNull();
    store.commit(batch([[W2, { a: 1 }], [W1, { b: 1 }]]));
    store.commit({ ...batch([[W0, { c: 1 }]]), job: 'other' });
    expect(store.earliestOpenWindowEnd(JOB)).toBe(W2);
    expect(store.earliestOpenWindowEnd('other')).toBe(W1);
    store.finalizeUpTo(JOB, W2, summarize, W2);
    expect(store.earliestOpenWindowEnd(JOB)).toBe(W2 + 5_000);
    store.finalizeUpTo(JOB, W2 + 5_000, summarize, W2 + 5_000);
    expect(store.earliestOpenWindowEnd(JOB)).toBeNull();
    expect(store.earliestOpenWindowEnd('nobody')).toBeNull();
  });

  it('finalizedStartsEndingAfter lists the finalized windows of the job whose end is after the time', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    store.ensureJob('other', DEFINITION, W0);
    store.commit(batch([[W0, { a: 1 }], [W1, { b: 1 }], [W2, { c: 1 }]]));
    store.commit({ ...batch([[W1, { z: 1 }]]), job: 'other' });
    expect(store.finalizedStartsEndingAfter(JOB, 0)).toEqual([]);
    store.finalizeUpTo(JOB, W2, summarize, W2); // W0 and W1 are final, W2 stays open
    store.finalizeUpTo('other', W2, summarize, W2);
    expect([...store.finalizedStartsEndingAfter(JOB, 0)].sort((a, b) => a - b)).toEqual([W0, W1]);
    expect([...store.finalizedStartsEndingAfter(JOB, W0)].sort((a, b) => a - b)).toEqual([W0, W1]);
    // End is exclusive: a window ending exactly at the time does not end after it.
    expect(store.finalizedStartsEndingAfter(JOB, W1)).toEqual([W1]);
    expect(store.finalizedStartsEndingAfter(JOB, W1 + 4_999)).toEqual([W1]);
    expect(store.finalizedStartsEndingAfter(JOB, W2)).toEqual([]);
    expect(store.finalizedStartsEndingAfter('other', W1)).toEqual([W1]);
  });
});

describe('exact sums through the database', () => {
  const summarizeSum = summarizerFor(reducerFor('sum'));
  const SUM_DEFINITION: JobDefinition = { reduction: 'sum', window: '5s', key: 'field=1', value: 'field=2' };

  function values(entries: ReadonlyArray<readonly [string, number]>): DeltaColumns {
    const table = new PartialTable(true);
    for (const [key, value] of entries) table.addValue(key, value);
    return table;
  }

  function sumBatch(start: number, delta: DeltaColumns): CommitBatch {
    return { job: JOB, now: W0, windows: [{ start, end: start + 5_000, delta }], sources: [], records: delta.size, rejected: 0, late: 0 };
  }

  it('keeps the low parts of deltas, so sums merged from several commits are exact bigints, in open and final windows', () => {
    const store = openStore(join(dir, 'state.db'));
    store.ensureJob(JOB, SUM_DEFINITION, W0);
    const first = values([['big', 2 ** 53], ['big', 1], ['small', 0.5]]);
    expect(first.sumLows![0]).toBe(1); // the 1 lives in the low part
    store.commit(sumBatch(W0, first));
    store.commit(sumBatch(W0, values([['big', 1], ['big', Number.MAX_SAFE_INTEGER], ['small', 0.25]])));
    const expectedBig = 2n ** 53n + 2n + BigInt(Number.MAX_SAFE_INTEGER);
    const expectedRows = ordered([
      ['big', expectedBig],
      ['small', 0.75],
    ]);
    expect(ordered(store.readOpen(JOB, () => summarizeSum)[0]!.rows)).toEqual(expectedRows);
    const [published] = store.finalizeUpTo(JOB, W1, summarizeSum, W1);
    expect(ordered(published!.rows)).toEqual(expectedRows);
    // Published rows come back from the database as the same exact values, bigint included.
    expect(store.readFinal(JOB)).toEqual([published]);
    expect(typeof store.readFinal(JOB)[0]!.rows.find(([key]) => key === 'big')![1]).toBe('bigint');
  });

  it('a counting job stores no sums and no low parts', () => {
    const store = openStore(null);
    store.ensureJob(JOB, DEFINITION, W0);
    store.commit(batch([[W0, { a: 1 }]]));
    const [published] = store.finalizeUpTo(JOB, W1, summarize, W1);
    expect(published!.rows).toEqual([['a', 1]]);
  });
});
