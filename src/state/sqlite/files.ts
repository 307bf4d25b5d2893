import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import type { Database as DB } from 'better-sqlite3';
import { describeCause, RuntimeFailure, StatesyncError, UsageError } from '../../errors.js';
import { openSqlite } from './addon.js';
import { SCHEMA_VERSION } from './schema.js';

/**
 * Opening a database file: who may write it, who may only read it, and
 * whether it is statesync's at all. Nothing here writes to the file.
 */

/** The tables every statesync schema so far has: a database with user_version >= 1 and all of them is ours. */
const STATESYNC_TABLES = ['jobs', 'sources', 'deltas', 'workers', 'dedupe', 'results'];

/**
 * What the database holds, read without writing anything: 'empty' (a new or
 * zero-length file) or 'statesync'. Anything else is refused (exit 2), so
 * statesync never adds its tables to, or switches the journal of, someone
 * else's database.
 */
export function inspectSchema(db: DB, path: string): 'empty' | 'statesync' {
  let version: number;
  let objects: number;
  let tables: string[];
  try {
    version = db.pragma('user_version', { simple: true }) as number;
    objects = db.prepare('SELECT COUNT(*) FROM sqlite_schema').pluck().get() as number;
    tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all() as string[];
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB') throw new UsageError(`${path} is not an SQLite database; give another --db`);
    if (code === 'SQLITE_CORRUPT') {
      throw new UsageError(`${path} is a damaged SQLite database (${(err as Error).message}); give another --db`);
    }
    throw err;
  }
  if (version === 0 && objects === 0) return 'empty';
  // A newer statesync may have other tables; the version check then says to upgrade.
  if (version > SCHEMA_VERSION && tables.includes('jobs')) return 'statesync';
  // Version 0 beside statesync's tables: another statesync is creating the schema right now (the
  // version is read a moment before the tables); migrations read it again under the write lock.
  if (STATESYNC_TABLES.every((t) => tables.includes(t))) return 'statesync';
  throw new UsageError(
    `${path} is an SQLite database not made by statesync (tables: ${tables.join(', ') || 'none'}); give another --db`,
  );
}

/**
 * Opens the database for a command that writes (the stream commands, restore,
 * compact). A file or directory it may not write is said so at once (exit 1),
 * rather than as an SQLite error at the first commit.
 */
export function openForWriting(path: string, mustExist: boolean): DB {
  const exists = statOrNull(path, 'write') !== null;
  if (!exists && mustExist) throw noDatabase(path);
  // SQLite creates the file, and -wal and -shm beside it, in its directory.
  const fileBlocker = exists ? notWritable(path) : null;
  if (fileBlocker !== null) throw new RuntimeFailure(`cannot write database ${path}: ${fileBlocker}`);
  const dirBlocker = exists && existsFile(`${path}-shm`) ? null : notWritable(dirname(path));
  if (dirBlocker !== null) {
    throw new RuntimeFailure(`cannot write database ${path}: cannot create files in ${dirname(path)} (${dirBlocker})`);
  }
  return openSqlite(path, { fileMustExist: mustExist });
}

/** A connection for a command that only reads. */
export interface ReadConnection {
  readonly db: DB;
  /**
   * For a private copy (below): whether the file changed since it was copied,
   * so a follower reopens it; null for a connection that sees new commits itself.
   */
  readonly changed: (() => boolean) | null;
}

/**
 * Opens the database for query, watch, status and snapshot export: it must
 * hold statesync state at this schema version; nothing is written to it.
 */
export function openForReading(path: string): ReadConnection {
  const connection = connectForReading(path);
  const { db } = connection;
  try {
    db.pragma('busy_timeout = 5000');
    if (inspectSchema(db, path) === 'empty') {
      throw new UsageError(`${path} holds no statesync state yet; run a stream command with --db ${path} first`);
    }
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw newerSchema(version);
    if (version < SCHEMA_VERSION) {
      throw new UsageError(`${path} has schema ${version}, older than this statesync's; run a stream command on it once to upgrade it`);
    }
  } catch (err) {
    db.close();
    if (err instanceof StatesyncError) throw err;
    throw new RuntimeFailure(`cannot read database ${path}: ${(err as Error).message}`, { cause: err });
  }
  return connection;
}

/** A database from a newer statesync is refused; it is left as it is. */
export function newerSchema(version: number): UsageError {
  return new UsageError(
    `the database was written by a newer statesync (schema ${version}, this one knows ${SCHEMA_VERSION}); upgrade statesync`,
  );
}

/**
 * Connects a reader, also where the file cannot be written. SQLite reads a WAL
 * database through its index, the -shm file, which a reader must be able to
 * create when it is missing (https://sqlite.org/wal.html#readonly):
 *
 * - file writable (and -shm there or creatable): a normal connection, which,
 *   closing last, removes -wal and -shm as a writer would;
 * - otherwise, -shm present (a writer is running, or crashed), or creatable
 *   when -wal holds commits: a read-only connection using it;
 * - otherwise, the database is at rest (no -wal, or an empty one: the file
 *   holds every commit): it is read into memory and opened from there, so
 *   nothing is created beside a file this process may not write. (SQLite's
 *   `immutable=1` would do the same, but better-sqlite3 does not take URI
 *   file names, and a copy is checked: a writer that starts meanwhile
 *   creates -wal and -shm, so the copy is taken again);
 * - a non-empty -wal without -shm in a directory it may not write cannot be
 *   read consistently: refused, saying why.
 */
function connectForReading(path: string): ReadConnection {
  if (statOrNull(path, 'read') === null) throw noDatabase(path);
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    throw new RuntimeFailure(`cannot read database ${path}: ${describeCause(err)}`);
  }
  const shm = existsFile(`${path}-shm`);
  const directoryWritable = notWritable(dirname(path)) === null;
  try {
    if (notWritable(path) === null && (shm || directoryWritable)) return { db: openSqlite(path, { fileMustExist: true }), changed: null };
    if (shm || (walBytes(path) > 0 && directoryWritable)) {
      return { db: openSqlite(path, { readonly: true, fileMustExist: true }), changed: null };
    }
  } catch (err) {
    throw new RuntimeFailure(`cannot read database ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (walBytes(path) > 0) {
    throw new RuntimeFailure(
      `cannot read database ${path}: its -wal file holds commits whose index (-shm) is missing and cannot be ` +
        `created in ${dirname(path)} (${notWritable(dirname(path))}); open it once where it can be written`,
    );
  }
  return privateCopy(path);
}

/** Reads the file into memory, retrying if a writer changed it meanwhile. */
function privateCopy(path: string): ReadConnection {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = signature(path);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new RuntimeFailure(`cannot read database ${path}: ${describeCause(err)}`);
    }
    if (signature(path) !== before) continue;
    // In memory there is no WAL: mark the copy's header as a rollback-journal database (bytes 18-19).
    if (bytes.subarray(0, 16).toString('latin1') === 'SQLite format 3\0') bytes.fill(1, 18, 20);
    return { db: openSqlite(bytes, { readonly: true }), changed: () => signature(path) !== before };
  }
  throw new RuntimeFailure(`cannot read database ${path}: it kept changing while it was read`);
}

/** What changes when a writer commits or starts: the file's identity, size and time, and its -wal and -shm. */
function signature(path: string): string {
  const parts = [path, `${path}-wal`, `${path}-shm`].map((p) => {
    const st = statOrNull(p, 'read');
    return st === null ? '-' : `${st.ino}:${st.size}:${st.mtimeMs}`;
  });
  return parts.join('|');
}

function noDatabase(path: string): UsageError {
  return new UsageError(`no database at ${path}; run a stream command with --db ${path} first`);
}

/** stat, or null when the path does not exist; any other failure is the one-line error. */
function statOrNull(path: string, purpose: 'read' | 'write'): Stats | null {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new UsageError(`--db ${path} is a directory; give the database file`);
    return st;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RuntimeFailure(`cannot ${purpose} database ${path}: ${describeCause(err)}`);
  }
}

function existsFile(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

/** Why this process may not write `path` (a file, or a directory to create files in), or null if it may. */
function notWritable(path: string): string | null {
  try {
    accessSync(path, constants.W_OK);
    return null;
  } catch (err) {
    return describeCause(err);
  }
}
