/** Databases for test files, on the one PostgreSQL server of the run (started by postgres-global.ts). */
import type pg from 'pg';
import { afterAll, inject } from 'vitest';
import { createDatabase, pgPool, TEST_APPLICATION, type PgSession } from './postgres.js';

export { holdCommits, terminateBackends, TEST_APPLICATION, type CommitGate, type PgSession } from './postgres.js';

/** The shared server's superuser URL (its `postgres` database). */
export function pgServerUrl(): string {
  return inject('pgUrl');
}

/** A new, empty database on the shared server; answers its URL. */
export function freshDatabaseUrl(): Promise<string> {
  return createDatabase(pgServerUrl());
}

/** A database as a test reads it directly: statesync's tables (schema `statesync`) and the server's sessions. */
export interface PgProbe {
  readonly url: string;
  /** The rows of one statement (int8 as numbers). */
  rows<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  /** The same, or undefined while the statement fails (before statesync created its tables). */
  peek<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[] | undefined>;
  /** The other client sessions of this database (the tests' own excluded), as terminateBackends' filter sees them. */
  sessions(): Promise<PgSession[]>;
}

/**
 * The PostgreSQL side of a test file: `fresh()` makes a new empty database
 * and a probe on it, `on(url)` a probe on an existing one; their connections
 * are closed after the file's last test.
 */
export function usePgProbes(): { fresh(): Promise<PgProbe>; on(url: string): PgProbe } {
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.end()));
  });
  const on = (url: string): PgProbe => {
    const pool = pgPool(url);
    pools.push(pool);
    const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await pool.query<T>(sql, params)).rows;
    return {
      url,
      rows,
      peek: <T extends pg.QueryResultRow>(sql: string, params?: unknown[]) => rows<T>(sql, params).catch(() => undefined),
      sessions: () =>
        rows<PgSession>(
          `SELECT pid, application_name AS "applicationName", state, wait_event_type AS "waitEventType", query FROM pg_stat_activity
            WHERE datname = current_database() AND backend_type = 'client backend' AND application_name <> $1`,
          [TEST_APPLICATION],
        ),
    };
  };
  return { fresh: async () => on(await freshDatabaseUrl()), on };
}
