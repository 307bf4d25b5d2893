import { SNAPSHOT_TABLES } from '../port.js';
import type { SqliteConnection } from './connection.js';

/**
 * Writes a consistent copy of the whole database to `path`: VACUUM INTO
 * reads it in one read transaction, so writers keep committing meanwhile.
 */
export function exportImage(conn: SqliteConnection, path: string): void {
  conn.db.prepare('VACUUM INTO ?').run(path);
}

/**
 * Replaces all state with the image at `path` (validated, at this schema
 * version) in one transaction: readers see the old state or the new one,
 * and a failure part way leaves the old one. No worker registration survives.
 */
export function restoreImage(conn: SqliteConnection, path: string): void {
  const { db } = conn;
  db.prepare('ATTACH DATABASE ? AS snapshot').run(path);
  try {
    conn.write(() => {
      for (const table of SNAPSHOT_TABLES) {
        db.exec(`DELETE FROM main.${table}; INSERT INTO main.${table} SELECT * FROM snapshot.${table};`);
      }
      db.exec('DELETE FROM main.workers;');
    });
  } finally {
    db.exec('DETACH DATABASE snapshot');
  }
}
