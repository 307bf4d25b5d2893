import { statSync } from 'node:fs';
import type { Database as DB } from 'better-sqlite3';
import { describeCause, RuntimeFailure, StatesyncError, UsageError } from '../../errors.js';
import { openSqlite } from './addon.js';
import { inspectSchema, newerSchema, openForReading, openForWriting } from './files.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';

const BUSY_RETRIES = 20;

/**
 * One better-sqlite3 database, opened, tuned and migrated, with the write
 * rule every SQLite module follows: each write is one IMMEDIATE transaction
 * (a deferred read-then-write can fail with SQLITE_BUSY without waiting),
 * retried with bounded backoff while another process holds the lock.
 */
export class SqliteConnection {
  private constructor(
    private database: DB,
    /** null: in memory. */
    readonly path: string | null,
    /** Set for a reader of a private copy of the file (see openForReading): whether the file changed since. */
    private changed: (() => boolean) | null = null,
  ) {}

  get db(): DB {
    return this.database;
  }

  /**
   * Opens (creating and migrating) the database; `path` null keeps it in memory.
   * `readOnly` (query, watch, status, snapshot export): the database must exist, and
   * nothing is written to it, so it may be a file this process cannot write.
   */
  static open(path: string | null, options: { mustExist?: boolean; readOnly?: boolean } = {}): SqliteConnection {
    if (path !== null && options.readOnly === true) {
      const { db, changed } = openForReading(path);
      return new SqliteConnection(db, path, changed);
    }
    let db: DB;
    try {
      db = path === null ? openSqlite(emptyDatabase()) : openForWriting(path, options.mustExist === true);
    } catch (err) {
      if (err instanceof StatesyncError) throw err;
      throw new RuntimeFailure(`cannot open database ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma('busy_timeout = 5000');
      // Read before anything is written, so someone else's database is left exactly as it was.
      // In memory: a new database, or the bundle's image of one (already migrated, pragma set).
      const schema = path === null ? 'empty' : inspectSchema(db, path);
      // A fresh database frees pages incrementally, so compaction can give space back
      // without a full VACUUM (which would block writers for its whole duration).
      if (schema === 'empty') db.pragma('auto_vacuum = INCREMENTAL');
      if (path !== null) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') throw new RuntimeFailure(`cannot put ${path} in WAL mode (got ${String(mode)})`);
      }
      // WAL + NORMAL: a committed transaction survives a process crash; only power loss can drop the last ones.
      db.pragma('synchronous = NORMAL');
      db.pragma('cache_size = -32000');
      // SQLite checkpoints the WAL after commits (every 1000 pages); this also shrinks the
      // file back after a burst, so continuous writers keep it bounded.
      db.pragma('journal_size_limit = 67108864');
      migrate(db);
    } catch (err) {
      db.close();
      if (err instanceof StatesyncError) throw err;
      const message = (err as Error).message;
      if (/file is not a database|malformed/i.test(message)) {
        throw new UsageError(`${path} is not a statesync database (${message})`);
      }
      throw new RuntimeFailure(`cannot use database ${path}: ${message}`, { cause: err });
    }
    return new SqliteConnection(db, path);
  }

  /**
   * A reader of a private copy (a database at rest where this process cannot
   * write) opens the file again once it changed, e.g. when a writer started.
   */
  refresh(): void {
    if (this.changed === null || this.path === null || !this.changed()) return;
    const next = openForReading(this.path);
    this.database.close();
    this.database = next.db;
    this.changed = next.changed;
  }

  close(): void {
    if (this.database.open) this.database.close();
  }

  /** Runs fn in an IMMEDIATE transaction, retrying with backoff while another process holds the lock. */
  write<T>(fn: () => T): T {
    const txn = this.db.transaction(fn);
    for (let attempt = 0; ; attempt++) {
      try {
        return txn.immediate();
      } catch (err) {
        if (!isBusy(err) || attempt >= BUSY_RETRIES) {
          if (isBusy(err)) {
            throw new RuntimeFailure(`database ${this.path} stayed locked by another process; giving up after ${attempt + 1} tries`);
          }
          if (refusedBySystem(err)) throw new RuntimeFailure(`cannot write ${this.path}: ${describeCause(err)}`, { cause: err });
          throw err;
        }
        sleepSync(Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random()));
      }
    }
  }

  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** Bytes of the database file and of its WAL (0 in memory). */
  fileSizes(): { databaseBytes: number; walBytes: number } {
    return { databaseBytes: fileSize(this.path), walBytes: fileSize(this.path === null ? null : `${this.path}-wal`) };
  }
}

declare const STATESYNC_EMPTY_DB: string | undefined;

/**
 * A new in-memory database. The bundle carries one as this module's open leaves it (made by
 * scripts/bundle.mjs: `SIZE OFFSET:BASE64 …`, the bytes outside runs of zeros): opening it skips
 * the schema SQL (~2.5 ms) at every start of a run without --db. From source it is made here, the
 * migrations below run on it.
 */
function emptyDatabase(): string | Buffer {
  if (typeof STATESYNC_EMPTY_DB !== 'string') return ':memory:';
  const [size, ...stretches] = STATESYNC_EMPTY_DB.split(' ');
  const image = Buffer.alloc(Number(size));
  for (const stretch of stretches) {
    const colon = stretch.indexOf(':');
    image.write(stretch.slice(colon + 1), Number(stretch.slice(0, colon)), 'base64');
  }
  return image;
}

function migrate(db: DB): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const refuseNewer = (v: number) => {
    if (v > SCHEMA_VERSION) throw newerSchema(v);
  };
  refuseNewer(version());
  if (version() === SCHEMA_VERSION) return;
  // Several processes may open a fresh database at once: the version is read
  // again under the write lock, so exactly one of them applies each step.
  db.transaction(() => {
    const current = version();
    refuseNewer(current);
    for (let v = current; v < SCHEMA_VERSION; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}

/** A full disk, an I/O error, a read-only file or mount: the outside world refused a write, not a bug. */
function refusedBySystem(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|PERM)/.test(code);
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function fileSize(path: string | null): number {
  if (path === null) return 0;
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
