import { statSync } from 'node:fs';
import type { Database as DB } from 'better-sqlite3';
import { RuntimeFailure, StatesyncError, UsageError } from '../../errors.js';
import { openSqlite } from './addon.js';
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
    readonly db: DB,
    /** null: in memory. */
    readonly path: string | null,
  ) {}

  /** Opens (creating and migrating) the database; `path` null keeps it in memory. */
  static open(path: string | null, options: { mustExist?: boolean } = {}): SqliteConnection {
    let db: DB;
    try {
      db = openSqlite(path ?? ':memory:', { fileMustExist: options.mustExist === true });
    } catch (err) {
      if (options.mustExist === true && (err as { code?: string }).code === 'SQLITE_CANTOPEN') {
        throw new UsageError(`no database at ${path}; run a stream command with --db ${path} first`);
      }
      throw new RuntimeFailure(`cannot open database ${path}: ${(err as Error).message}`, { cause: err });
    }
    try {
      db.pragma('busy_timeout = 5000');
      // A fresh database frees pages incrementally, so compaction can give space back
      // without a full VACUUM (which would block writers for its whole duration).
      if ((db.pragma('user_version', { simple: true }) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL');
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

  close(): void {
    if (this.db.open) this.db.close();
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

function migrate(db: DB): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  const refuseNewer = (v: number) => {
    if (v > SCHEMA_VERSION) {
      throw new UsageError(
        `the database was written by a newer statesync (schema ${v}, this one knows ${SCHEMA_VERSION}); upgrade statesync`,
      );
    }
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
