import type { StateStore, StoreOptions } from './port.js';
import { isPostgresUrl, parsePostgresUrl, redactUrl } from './postgres/url.js';

/**
 * The store behind `--db`: a PostgreSQL server for a postgres:// or
 * postgresql:// URL, else an SQLite file, or SQLite in memory when `db` is null.
 */
export async function openStore(db: string | null, options: StoreOptions = {}): Promise<StateStore> {
  if (db !== null && isPostgresUrl(db)) {
    // Loaded only when asked for: SQLite runs never pay for the PostgreSQL client.
    const { PostgresStore } = await import('./postgres/store.js');
    return PostgresStore.open(db, options);
  }
  // Also loaded only here: the option parsing that imports this module needs neither better-sqlite3 nor its addon.
  const { SqliteStore } = await import('./sqlite/store.js');
  return SqliteStore.open(db, options);
}

/** `--db` as messages show it: a URL without its password, a file as its path. */
export function describeDb(db: string): string {
  return isPostgresUrl(db) ? redactUrl(db) : db;
}

export { isPostgresUrl, parsePostgresUrl };
