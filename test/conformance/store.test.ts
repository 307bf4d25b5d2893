// The state port's conformance suite, run against every backend. A new backend passes by adding one line to BACKENDS.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import type { StateStore } from '../../src/state/port.js';
import { PostgresStore } from '../../src/state/postgres/store.js';
import { SqliteStore } from '../../src/state/sqlite/store.js';
import { freshDatabaseUrl } from '../support/pg.js';
import { describeCommits } from './commits.conformance.js';
import { describePublications } from './publications.conformance.js';
import { describeRevisions } from './revisions.conformance.js';
import type { Backend, FreshState } from './support.js';
import { describeWorkers } from './workers.conformance.js';

/** A backend whose state lives in files under a temporary directory per test. */
function onDisk(name: string, open: (dir: string) => Promise<StateStore>, again: boolean): Backend {
  const opened: StateStore[] = [];
  const dirs: string[] = [];
  const track = (store: StateStore) => {
    opened.push(store);
    return store;
  };
  return {
    name,
    async fresh(): Promise<FreshState> {
      const dir = mkdtempSync(join(tmpdir(), 'statesync-conformance-'));
      dirs.push(dir);
      let scratch = 0;
      return {
        store: track(await open(dir)),
        another: again ? async () => track(await open(dir)) : null,
        scratchFile: (file) => join(dir, `${scratch++}-${file}`),
      };
    },
    async dispose() {
      for (const store of opened.splice(0)) await store.close();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A backend on the test run's PostgreSQL server: a new database per test (images go to a temporary directory). */
function onServer(name: string): Backend {
  const opened: StateStore[] = [];
  const dirs: string[] = [];
  const track = (store: StateStore) => {
    opened.push(store);
    return store;
  };
  return {
    name,
    async fresh(): Promise<FreshState> {
      const url = await freshDatabaseUrl();
      const dir = mkdtempSync(join(tmpdir(), 'statesync-conformance-'));
      dirs.push(dir);
      let scratch = 0;
      return {
        store: track(await PostgresStore.open(url)),
        another: async () => track(await PostgresStore.open(url)),
        scratchFile: (file) => join(dir, `${scratch++}-${file}`),
      };
    },
    async dispose() {
      for (const store of opened.splice(0)) await store.close();
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const BACKENDS: readonly Backend[] = [
  onDisk('SQLite file', async (dir) => SqliteStore.open(join(dir, 'state.db')), true),
  onDisk('SQLite in memory', async () => SqliteStore.open(null), false),
  onServer('PostgreSQL'),
];

for (const backend of BACKENDS) {
  describe(`state port conformance: ${backend.name}`, () => {
    describe('jobs, commits, finalization, reads', () => describeCommits(backend));
    describe('workers', () => describeWorkers(backend));
    describe('publications, snapshot images, compaction', () => describePublications(backend));
    describe('revisions of provisional windows', () => describeRevisions(backend));
  });
}
