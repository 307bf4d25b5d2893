/** Databases for test files, on the one PostgreSQL server of the run (started by postgres-global.ts). */
import { inject } from 'vitest';
import { createDatabase } from './postgres.js';

export { terminateBackends, type PgSession } from './postgres.js';

/** The shared server's superuser URL (its `postgres` database). */
export function pgServerUrl(): string {
  return inject('pgUrl');
}

/** A new, empty database on the shared server; answers its URL. */
export function freshDatabaseUrl(): Promise<string> {
  return createDatabase(pgServerUrl());
}
