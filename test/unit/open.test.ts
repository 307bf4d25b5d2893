/**
 * Opening a database file: someone else's SQLite database or a non-database
 * is refused before anything is written, by writers and readers alike.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatesyncError, UsageError } from '../../src/errors.js';
import { SqliteStore } from '../../src/state/sqlite/store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statesync-open-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function failure(open: () => SqliteStore): StatesyncError {
  try {
    void open().close();
  } catch (err) {
    expect(err).toBeInstanceOf(StatesyncError);
    return err as StatesyncError;
  }
  throw new Error('expected the open to be refused');
}

function foreignDatabase(path: string, journal: 'delete' | 'wal'): void {
  const db = new Database(path);
  db.pragma(`journal_mode = ${journal}`);
  db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ann');");
  db.exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, user INTEGER); CREATE INDEX orders_user ON orders (user);');
  db.close();
}

const siblings = (path: string) => ['-wal', '-shm', '-journal'].filter((s) => existsSync(path + s));

describe('someone else’s SQLite database', () => {
  for (const journal of ['delete', 'wal'] as const) {
    it(`is refused by writers and readers, naming its tables, left byte-identical and alone (${journal} journal)`, () => {
      const path = join(dir, 'app.db');
      foreignDatabase(path, journal);
      const before = readFileSync(path);
      for (const options of [{}, { mustExist: true }, { readOnly: true }]) {
        const err = failure(() => SqliteStore.open(path, options));
        expect(err).toBeInstanceOf(UsageError);
        expect(err.message).toBe(`${path} is an SQLite database not made by statesync (tables: orders, users); give another --db`);
        expect(readFileSync(path).equals(before), JSON.stringify(options)).toBe(true);
        expect(siblings(path), JSON.stringify(options)).toEqual([]);
      }
    });
  }

  it('is refused with a user_version of its own and no statesync tables', () => {
    const path = join(dir, 'versioned.db');
    const db = new Database(path);
    db.exec('CREATE TABLE jobs (id INTEGER)');
    db.pragma('user_version = 1');
    db.close();
    expect(failure(() => SqliteStore.open(path)).message).toMatch(/not made by statesync \(tables: jobs\)/);
  });

  it('a file that is not SQLite (text, random bytes) is refused and left alone', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'to be or not to be\n');
    const random = join(dir, 'random.bin');
    writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)));
    for (const path of [text, random]) {
      const before = readFileSync(path);
      for (const options of [{}, { readOnly: true }]) {
        const err = failure(() => SqliteStore.open(path, options));
        expect(err).toBeInstanceOf(UsageError);
        expect(err.message).toBe(`${path} is not an SQLite database; give another --db`);
      }
      expect(readFileSync(path).equals(before)).toBe(true);
      expect(siblings(path)).toEqual([]);
    }
  });
});

describe('new databases', () => {
  it('a zero-length file and a new path are made statesync databases, as before', async () => {
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    await SqliteStore.open(empty).close();
    await SqliteStore.open(join(dir, 'new.db')).close();
    for (const path of [empty, join(dir, 'new.db')]) {
      const store = SqliteStore.open(path, { readOnly: true });
      expect(await store.jobNames()).toEqual([]);
      await store.close();
    }
  });

  it('a reader says a zero-length file holds no state yet, and creates nothing', () => {
    const path = join(dir, 'empty.db');
    writeFileSync(path, '');
    const err = failure(() => SqliteStore.open(path, { readOnly: true }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe(`${path} holds no statesync state yet; run a stream command with --db ${path} first`);
    expect(readFileSync(path).length).toBe(0);
  });

  it('a reader of a missing database says so, as before, and creates nothing', () => {
    const path = join(dir, 'missing.db');
    expect(failure(() => SqliteStore.open(path, { readOnly: true })).message).toBe(
      `no database at ${path}; run a stream command with --db ${path} first`,
    );
    expect(existsSync(path)).toBe(false);
  });

  it('a directory given as the database is named as such', () => {
    expect(failure(() => SqliteStore.open(dir, { readOnly: true })).message).toBe(`--db ${dir} is a directory; give the database file`);
    expect(failure(() => SqliteStore.open(dir)).message).toBe(`--db ${dir} is a directory; give the database file`);
  });
});
