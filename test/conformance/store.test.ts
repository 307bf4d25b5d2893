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
import { describeSketches } from './sketches.conformance.js';
import type { Backend, FreshState } from './support.js';
import { describeWorkers } from './workers.conformance.js';

/**
 * A backend whose state is made fresh per test by `prepare` (given a
 * temporary directory of the test's, where snapshot images go too), which
 * answers how to open a store on that state; `again`: a second store may
 * open the same state, as another process would.
 */
function backend(name: string, prepare: (dir: string) => Promise<() => Promise<StateStore>>, again: boolean): Backend {
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
      const open = await prepare(dir);
      let scratch = 0;
      return {
        store: track(await open()),
        another: again ? async () => track(await open()) : null,
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
  backend('SQLite file', async (dir) => async () => SqliteStore.open(join(dir, 'state.db')), true),
  backend('SQLite in memory', async () => async () => SqliteStore.open(null), false),
  // A new database per test on the test run's PostgreSQL server.
  backend(
    'PostgreSQL',
    async () => {
      const url = await freshDatabaseUrl();
      return () => PostgresStore.open(url);
    },
    true,
  ),
];

for (const backend of BACKENDS) {
  describe(`state port conformance: ${backend.name}`, () => {
    describe('jobs, commits, finalization, reads', () => describeCommits(backend));
    describe('workers', () => describeWorkers(backend));
    describe('publications, snapshot images, compaction', () => describePublications(backend));
    describe('revisions of provisional windows', () => describeRevisions(backend));
    describe('sketches: quantile and distinct', () => describeSketches(backend));
  });
}
