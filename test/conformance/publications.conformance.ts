// The publication log and following it, snapshot images (export, restore, atomicity), compaction.
import { copyFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateStore } from '../../src/state/port.js';
import {
  type Backend,
  batch,
  DEFINITION,
  finalizeUpTo,
  type FreshState,
  HOST,
  JOB,
  LIVENESS,
  readable,
  RETAIN_MS,
  source,
  summarize,
  summarizeAny,
  W0,
  W1,
  W2,
} from './support.js';

export function describePublications(backend: Backend): void {
  let state: FreshState;
  let store: StateStore;

  beforeEach(async () => {
    state = await backend.fresh();
    store = state.store;
    await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
  });

  afterEach(async () => {
    await backend.dispose();
  });

  describe('publication sequence', () => {
    it('is gapless and in commit order across jobs and writers', async () => {
      const other = state.another === null ? store : await state.another();
      await store.ensureJob('second', DEFINITION, W0, RETAIN_MS);
      const published: Array<[string, number]> = [];
      for (let i = 0; i < 6; i++) {
        const start = W0 + i * 5_000;
        const job = i % 3 === 2 ? 'second' : JOB;
        const writer = i % 2 === 0 ? store : other;
        await writer.commit({ ...batch([[start, { [`k${i}`]: 1 }]]), job });
        for (const w of await finalizeUpTo(writer, job, start + 5_000, summarize, start + 5_000)) published.push([w.job, w.start]);
      }
      const log = await store.readPublished(null);
      expect(log.map((w) => w.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(log.map((w) => [w.job, w.start])).toEqual(published);
      expect((await other.readPublished(null, 4)).map((w) => w.seq)).toEqual([4, 5, 6]);
      expect((await store.readPublished('second')).map((w) => w.seq)).toEqual([3, 6]);
      expect((await store.status(LIVENESS, W0)).publishedSeq).toBe(6);
    });

    it('waitForPublication resolves once a publication at or past the sequence number exists, or when aborted', async () => {
      const other = state.another === null ? store : await state.another();
      const never = new AbortController();
      // Already there: resolves at once.
      await store.commit(batch([[W0, { a: 1 }]]));
      await finalizeUpTo(store, JOB, W1, summarize, W1);
      expect(await store.waitForPublication(1, { pollMs: 10, signal: never.signal })).toBe(1);

      let resolved = false;
      const waiting = store.waitForPublication(2, { pollMs: 10, signal: never.signal }).then((latest) => {
        resolved = true;
        return latest;
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(resolved).toBe(false);
      await other.commit(batch([[W1, { b: 1 }]]));
      await finalizeUpTo(other, JOB, W2, summarize, W2);
      expect(await waiting).toBe(2);
      expect((await store.readPublished(null, 2)).map((w) => w.start)).toEqual([W1]);

      const abort = new AbortController();
      const stopped = store.waitForPublication(3, { pollMs: 60_000, signal: abort.signal });
      abort.abort();
      expect(await stopped).toBe(2);
    });
  });

  describe('snapshot images', () => {
    async function populated(): Promise<void> {
      await store.registerWorker({ id: 'w1', job: JOB, pid: process.pid, host: HOST, watermark: W1 }, W0);
      await store.commit(batch([[W0, { a: 2, b: 1 }]], [source(0, 30, 3)], { rejected: 1 }));
      await finalizeUpTo(store, JOB, W1, summarize, W1);
      await store.commit(batch([[W1, { c: 1 }]], [source(30, 40, 1)]));
      await store.commit({
        ...batch([]),
        records: 1,
        dedupe: { ids: ['id-1'], starts: [W1], keys: ['d'], values: null, windowMs: 5_000, expiresAt: W2 + 60_000 },
      });
    }

    it('an image restored into fresh state reads the same, keeps offsets and dedupe ids, and drops workers', async () => {
      await populated();
      const image = state.scratchFile('export.db');
      await store.exportImage(image);
      const expected = await readable(store);

      const target = (await backend.fresh()).store;
      await target.ensureJob('leftover', DEFINITION, W0, RETAIN_MS);
      await target.restoreImage(image);
      expect(await readable(target)).toEqual(expected);
      expect(await target.workers(LIVENESS, W0)).toEqual([]);
      // A source continues exactly-once from the restored offset: a replay is refused, the next batch applies.
      await expect(target.commit(batch([[W1, { c: 1 }]], [source(30, 40, 1)]))).rejects.toThrow(/another process applied it/);
      await target.commit(batch([[W1, { e: 1 }]], [source(40, 50, 1)]));
      // A restored dedupe id is still known.
      const again = await target.commit({
        ...batch([]),
        records: 1,
        dedupe: { ids: ['id-1'], starts: [W1], keys: ['d'], values: null, windowMs: 5_000, expiresAt: W2 + 60_000 },
      });
      expect(again.duplicates).toBe(1);
    });

    it('a failed restore leaves the state exactly as it was; readers see the old state or the new one', async () => {
      await populated();
      const good = state.scratchFile('good.db');
      await store.exportImage(good);
      const imageState = await readable(store);
      const view = async (s: StateStore) => ({ final: await s.readPublished(null), open: await s.readOpen(null, summarizeAny) });
      const oldView = await view(store);

      // The state moves on after the export.
      await store.commit(batch([[W1, { z: 5 }]], [source(40, 60, 2)]));
      await finalizeUpTo(store, JOB, W2, summarize, W2);
      const current = await readable(store);
      const newView = await view(store);

      // An image whose last table is missing fails part way through the copy.
      const broken = state.scratchFile('broken.db');
      copyFileSync(good, broken);
      const db = new Database(broken);
      db.exec('DROP TABLE dedupe');
      db.close();
      await expect(store.restoreImage(broken)).rejects.toThrow();
      expect(await readable(store)).toEqual(current);

      const reader = state.another === null ? store : await state.another();
      const [, seen] = await Promise.all([store.restoreImage(good), view(reader)]);
      expect([newView, oldView]).toContainEqual(seen);
      expect(await readable(store)).toEqual(imageState);
      expect(await view(reader)).toEqual(oldView);
    });
  });

  describe('compaction', () => {
    it('drops finalized results past retention and expired dedupe ids, never open windows', async () => {
      await store.ensureJob('short', DEFINITION, W0, 1_000);
      await store.commit(batch([[W0, { a: 1 }], [W2, { open: 1 }]]));
      await store.commit({ ...batch([[W0, { s: 1 }]]), job: 'short' });
      await store.commit({
        ...batch([]),
        records: 1,
        dedupe: { ids: ['x'], starts: [W1], keys: ['x'], values: null, windowMs: 5_000, expiresAt: W1 + 10 },
      });
      await finalizeUpTo(store, JOB, W2, summarize, W2);
      await finalizeUpTo(store, 'short', W2, summarize, W2);

      // Each job keeps its own retention: 'short' ends 1 s after W1.
      const first = await store.compact(W1 + 2_000, null);
      expect(first).toMatchObject({ results: 1, dedupeIds: 1 });
      expect((await store.readPublished(null)).map((w) => w.job)).toEqual([JOB, JOB]);
      // An explicit retention applies to every job; open windows stay.
      const second = await store.compact(W2 + RETAIN_MS, 1);
      expect(second.results).toBe(2);
      expect(await store.readPublished(null)).toEqual([]);
      expect((await store.readOpen(null, summarizeAny)).map((w) => w.start)).toEqual([W2]);
    });
  });
}
