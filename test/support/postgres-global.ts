/**
 * Vitest globalSetup: one throwaway PostgreSQL server for the whole run,
 * provided to test files as `pgUrl` (test/support/pg.ts reads it) and stopped
 * at teardown. If it cannot start, the run fails here rather than skipping.
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The shared server's superuser URL of its `postgres` database. */
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgres();
  project.provide('pgUrl', server.url);
  return () => server.stop();
}
