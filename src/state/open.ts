import type { StateStore, StoreOptions } from './port.js';
import { SqliteStore } from './sqlite/store.js';

/**
 * The store behind `--db`: an SQLite file, or SQLite in memory when `db` is
 * null. A new backend is chosen here (by the form of `db`).
 */
export async function openStore(db: string | null, options: StoreOptions = {}): Promise<StateStore> {
  return SqliteStore.open(db, options);
}
