import type { Database } from 'better-sqlite3';
import { SNAPSHOT_TABLES } from '../port.js';
import { openSqlite } from '../sqlite/addon.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../sqlite/schema.js';
import type { Client, PgConnection } from './connection.js';

type SnapshotTable = (typeof SNAPSHOT_TABLES)[number];

/** Each snapshot table's columns (the same in both backends), and which of them PostgreSQL keeps as boolean. */
const COLUMNS: Readonly<Record<SnapshotTable, { names: readonly string[]; booleans?: readonly string[]; order: string }>> = {
  jobs: { names: ['job', 'definition', 'created_at', 'records', 'rejected', 'late', 'duplicates', 'retain_ms'], order: 'job' },
  sources: {
    names: ['job', 'source', 'kind', 'offset', 'lines', 'max_event_time', 'identity', 'clients', 'refused', 'updated_at'],
    order: 'job, source',
  },
  deltas: {
    names: ['id', 'job', 'window_start', 'window_end', 'key_count', 'keys', 'counts', 'sums', 'sum_lows', 'mins', 'maxs', 'committed_at', 'sketches'],
    order: 'id',
  },
  results: {
    names: ['seq', 'job', 'window_start', 'window_end', 'revision', 'final', 'through_delta', 'finalized_at', 'row_count', 'rows'],
    booleans: ['final'],
    order: 'seq',
  },
  dedupe: { names: ['job', 'id', 'expires_at'], order: 'job, id' },
  sequences: { names: ['name', 'value'], order: 'name' },
};

const FETCH_ROWS = 2000;
/** PostgreSQL takes at most 65535 parameters per statement. */
const MAX_PARAMS = 60_000;

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');

/**
 * Writes the SNAPSHOT_TABLES to a new SQLite file at `path`, at SQLite's
 * SCHEMA_VERSION (the snapshot format's payload), read in one REPEATABLE
 * READ transaction through cursors: a consistent point in time while writers
 * go on, never the whole state in memory at once.
 */
export async function exportImage(conn: PgConnection, path: string): Promise<void> {
  const image = openSqlite(path);
  try {
    for (const migration of MIGRATIONS) image.exec(migration);
    image.pragma(`user_version = ${SCHEMA_VERSION}`);
    await conn.transaction(
      async (client) => {
        for (const table of SNAPSHOT_TABLES) await copyTableOut(client, image, table);
      },
      { snapshot: true },
    );
  } finally {
    image.close();
  }
}

async function copyTableOut(client: Client, image: Database, table: SnapshotTable): Promise<void> {
  const { names, booleans = [], order } = COLUMNS[table];
  const insert = image.prepare(`INSERT INTO ${table} (${quoted(names)}) VALUES (${names.map(() => '?').join(', ')})`);
  const insertAll = image.transaction((rows: Array<Record<string, unknown>>) => {
    for (const row of rows) insert.run(names.map((n) => (booleans.includes(n) ? (row[n] ? 1 : 0) : row[n])));
  });
  image.exec(`DELETE FROM ${table}`);
  await client.query(`DECLARE image_rows NO SCROLL CURSOR FOR SELECT ${quoted(names)} FROM ${table} ORDER BY ${order}`);
  for (;;) {
    const { rows } = await client.query<Record<string, unknown>>(`FETCH FORWARD ${FETCH_ROWS} FROM image_rows`);
    if (rows.length === 0) break;
    insertAll(rows);
  }
  await client.query('CLOSE image_rows');
}

/**
 * Replaces all state with the validated image at `path`, in one transaction
 * that locks statesync's tables: readers see the old state or the new one.
 * No worker registration survives; delta ids continue after the image's.
 */
export async function restoreImage(conn: PgConnection, path: string): Promise<void> {
  const image = openSqlite(path, { readonly: true });
  try {
    await conn.transaction(async (client) => {
      await client.query(`LOCK TABLE ${SNAPSHOT_TABLES.join(', ')}, workers IN ACCESS EXCLUSIVE MODE`);
      for (const table of SNAPSHOT_TABLES) {
        await client.query(`DELETE FROM ${table}`);
        await copyTableIn(client, image, table);
      }
      await client.query('DELETE FROM workers');
      await client.query(
        `SELECT setval(pg_get_serial_sequence('deltas', 'id'),
           GREATEST((SELECT COALESCE(MAX(id), 0) FROM deltas), (SELECT COALESCE(MAX(through_delta), 0) FROM results), 1))`,
      );
    });
  } finally {
    image.close();
  }
}

async function copyTableIn(client: Client, image: Database, table: SnapshotTable): Promise<void> {
  const { names, booleans = [], order } = COLUMNS[table];
  const perStatement = Math.floor(MAX_PARAMS / names.length);
  const rows = image.prepare(`SELECT ${quoted(names)} FROM ${table} ORDER BY ${order}`).raw().iterate() as IterableIterator<unknown[]>;
  let batch: unknown[][] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const params: unknown[] = [];
    const tuples = batch.map((row) => {
      const first = params.length;
      row.forEach((value, i) => params.push(booleans.includes(names[i]!) ? value === 1 : value));
      return `(${row.map((_, i) => `$${first + i + 1}`).join(', ')})`;
    });
    await client.query(`INSERT INTO ${table} (${quoted(names)}) VALUES ${tuples.join(', ')}`, params);
    batch = [];
  };
  for (const row of rows) {
    batch.push(row);
    if (batch.length >= perStatement) await flush();
  }
  await flush();
}
