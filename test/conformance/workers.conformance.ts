// Workers: liveness and fencing, finalize-once with several writers, windows a worker holds in memory.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FencedError, StaleBatchError } from '../../src/errors.js';
import type { DeltaColumns, ResultRow } from '../../src/model.js';
import { WordCountTable } from '../../src/reducers/word-count-table.js';
import { orderRows } from '../../src/sinks/order.js';
import type { HeldWindow, Liveness, StateStore } from '../../src/state/port.js';
import {
  type Backend,
  batch,
  counts,
  DEFINITION,
  finalizeUpTo,
  type FreshState,
  HOST,
  JOB,
  LIVENESS,
  ordered,
  readable,
  RETAIN_MS,
  source,
  summarize,
  W0,
  W1,
  W2,
} from './support.js';

/**
 * A store may keep heartbeats on its own clock (PostgreSQL: the server's, as
 * hosts' clocks differ), so a test that lets a heartbeat grow old uses a short
 * timeout, waits that long for real, and moves `now` as far.
 */
const QUICK: Liveness = { ...LIVENESS, timeoutMs: 300 };
const OUTLIVED = QUICK.timeoutMs + 200;
const outliveTimeout = () => sleep(OUTLIVED);

export function describeWorkers(backend: Backend): void {
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

  const register = (s: StateStore, id: string, watermark: number | null, now = W0, pid = process.pid) =>
    s.registerWorker({ id, job: JOB, pid, host: HOST, watermark }, now);

  describe('liveness and fencing', () => {
    it('a worker past the heartbeat timeout is marked dead by a finalization, holds nothing back, and is fenced', async () => {
      await register(store, 'slow', W0);
      await register(store, 'fast', W2);
      await store.commit(batch([[W0, { a: 1 }]], [source(0, 10, 1)], { worker: { id: 'slow', watermark: W0, idle: false } }));
      // While 'slow' is live its watermark holds the window back.
      expect((await store.finalizeReady({ job: JOB, self: 'fast', liveness: QUICK, summarize, now: W0 + 10 })).published).toEqual([]);

      await outliveTimeout();
      const later = W0 + OUTLIVED;
      await store.heartbeat({ id: 'fast', watermark: W2, idle: false }, later);
      const { published } = await store.finalizeReady({ job: JOB, self: 'fast', liveness: QUICK, summarize, now: later });
      expect(published.map((w) => [w.start, w.rows])).toEqual([[W0, [['a', 1]]]]);
      // By id: a store on its own clock saw 'slow' start first, SQLite saw both start at W0.
      const byId = (await store.workers(QUICK, later)).sort((a, b) => (a.id < b.id ? -1 : 1));
      expect(byId.map((w) => [w.id, w.state, w.health])).toEqual([
        ['fast', 'running', 'alive'],
        ['slow', 'dead', 'dead'],
      ]);

      // The dead worker's next commit and heartbeat are refused; nothing changes.
      const before = await readable(store);
      await expect(
        store.commit(batch([[W1, { b: 1 }]], [source(10, 20, 1)], { now: later, worker: { id: 'slow', watermark: W1, idle: false } })),
      ).rejects.toThrow(FencedError);
      await expect(store.heartbeat({ id: 'slow', watermark: W1, idle: false }, later)).rejects.toThrow(FencedError);
      expect(await readable(store)).toEqual(before);
      expect(await store.sourceOffset(JOB, 'file:/data/in.log')).toMatchObject({ offset: 10 });

      // Under a new id it works again.
      await register(store, 'slow-again', W1, later);
      await store.commit(batch([[W1, { b: 1 }]], [source(10, 20, 1)], { now: later, worker: { id: 'slow-again', watermark: W1, idle: false } }));
      expect(await store.sourceOffset(JOB, 'file:/data/in.log')).toMatchObject({ offset: 20 });
    });

    it('a worker of this host whose process is gone is dead at once; another host\'s is judged by its heartbeat', async () => {
      const liveness: Liveness = { ...QUICK, pidAlive: (pid) => pid !== 4242 };
      await register(store, 'gone', W0, W0, 4242);
      await store.registerWorker({ id: 'remote', job: JOB, pid: 4242, host: 'elsewhere', watermark: W0 }, W0);
      expect((await store.workers(liveness, W0)).map((w) => [w.id, w.health])).toEqual([
        ['gone', 'dead'],
        ['remote', 'alive'],
      ]);
      await outliveTimeout();
      expect((await store.workers(liveness, W0 + OUTLIVED)).map((w) => [w.id, w.health])).toEqual([
        ['gone', 'dead'],
        ['remote', 'dead'],
      ]);
    });

    it('a finished worker holds nothing back, and its heartbeat is refused', async () => {
      await register(store, 'w1', W0);
      await store.commit(batch([[W0, { a: 1 }]]));
      await store.finishWorker('w1', W0);
      expect((await store.workers(LIVENESS, W0)).map((w) => w.health)).toEqual(['finished']);
      await expect(store.heartbeat({ id: 'w1', watermark: W1, idle: false }, W0)).rejects.toThrow(FencedError);
      const { published } = await store.finalizeReady({ job: JOB, self: null, liveness: LIVENESS, summarize, now: W0 });
      expect(published.map((w) => w.start)).toEqual([W0]);
    });

    it('idle workers do not hold windows back while another is active; all idle, the furthest counts', async () => {
      await register(store, 'active', W2);
      await register(store, 'idle', W0);
      await store.heartbeat({ id: 'idle', watermark: W0, idle: true }, W0);
      await store.commit(batch([[W0, { a: 1 }], [W1, { b: 1 }], [W2, { c: 1 }]]));
      const first = await store.finalizeReady({ job: JOB, self: 'active', liveness: LIVENESS, summarize, now: W0 });
      expect(first.published.map((w) => w.start)).toEqual([W0, W1]);
      await store.heartbeat({ id: 'active', watermark: W0, idle: true }, W0);
      await store.heartbeat({ id: 'idle', watermark: W2 + 5_000, idle: true }, W0);
      const second = await store.finalizeReady({ job: JOB, self: 'active', liveness: LIVENESS, summarize, now: W0 });
      expect(second.published.map((w) => w.start)).toEqual([W2]);
    });
  });

  describe('two writers', () => {
    it('finalize each window exactly once, with the totals of both, and refuse each other\'s replays', async () => {
      const other = state.another === null ? store : await state.another();
      await other.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
      await register(store, 'a', W0);
      await register(other, 'b', W0);
      const windows = [W0, W1, W2, W2 + 5_000, W2 + 10_000];
      let offsetA = 0;
      let offsetB = 0;
      for (const [i, start] of windows.entries()) {
        const beatA = { id: 'a', watermark: start, idle: false };
        const beatB = { id: 'b', watermark: start, idle: false };
        await store.commit(batch([[start, { x: 2, [`a${i}`]: 1 }]], [source(offsetA, offsetA + 10, 1, 'a')], { worker: beatA }));
        await other.commit(batch([[start, { x: 1, [`b${i}`]: 1 }]], [source(offsetB, offsetB + 10, 1, 'b')], { worker: beatB }));
        // Each refuses a replay of the other's batch.
        await expect(
          store.commit(batch([[start, { x: 1 }]], [source(offsetB, offsetB + 10, 1, 'b')], { worker: beatA })),
        ).rejects.toThrow(StaleBatchError);
        offsetA += 10;
        offsetB += 10;
        const end = start + 5_000;
        await store.heartbeat({ id: 'a', watermark: end, idle: false }, W0);
        await other.heartbeat({ id: 'b', watermark: end, idle: false }, W0);
        // Both finalize at once.
        const [byA, byB] = await Promise.all([
          store.finalizeReady({ job: JOB, self: 'a', liveness: LIVENESS, summarize, now: W0 }),
          other.finalizeReady({ job: JOB, self: 'b', liveness: LIVENESS, summarize, now: W0 }),
        ]);
        const published = [...byA.published, ...byB.published];
        expect(published.map((w) => [w.start, ordered(w.rows)])).toEqual([
          [start, ordered([['x', 3], [`a${i}`, 1], [`b${i}`, 1]])],
        ]);
      }
      const all = await other.readPublished(JOB);
      expect(all.map((w) => w.start)).toEqual(windows);
      expect(all.map((w) => w.seq)).toEqual([1, 2, 3, 4, 5]);
      // A commit into a published window is late for either writer.
      const late = await other.commit(batch([[W0, { x: 10 }]], [source(offsetB, offsetB + 10, 1, 'b')]));
      expect(late.lateRecords).toBe(10);
      expect(await store.readPublished(JOB)).toEqual(all);
    });
  });

  describe('windows held in memory', () => {
    /** A table holding `text`'s words as settled totals, the way a worker holds a window after committing it. */
    function heldTable(text: string): WordCountTable {
      const table = new WordCountTable();
      const bytes = Buffer.from(text);
      table.addWords(bytes, 0, bytes.length, { words: 0, lines: 0 });
      table.settle();
      return table;
    }

    const commit = async (start: number, entries: Record<string, number>) =>
      (await store.commit(batch([[start, entries]]))).deltaIds.get(start)!;

    it('a finalization merges only the other deltas into what the worker holds, and reports the table used', async () => {
      await register(store, 'w1', W1);
      const mine = [await commit(W0, { to: 2, be: 2 }), await commit(W0, { or: 1 })];
      await commit(W0, { to: 1, not: 1 }); // another worker's
      const held: HeldWindow[] = [
        { workerId: 'w1', start: W0, deltaIds: mine, totals: heldTable('to be or to be') },
        { workerId: 'w1', start: W1, deltaIds: [], totals: heldTable('not due') },
      ];
      const outcome = await store.finalizeReady({ job: JOB, self: 'w1', liveness: LIVENESS, summarize, now: W1, held });
      expect([...outcome.usedHeld]).toEqual([W0]);
      const [published] = outcome.published;
      expect(orderRows(published!.rows)).toEqual(orderRows([['to', 3], ['be', 2], ['or', 1], ['not', 1]]));
      expect(orderRows((await store.readPublished(JOB))[0]!.rows)).toEqual(orderRows(published!.rows));
    });

    it('ignores what the worker holds once its registration is gone (a snapshot restore drops them all)', async () => {
      const mine = [await commit(W0, { a: 1 })];
      await commit(W0, { b: 1 });
      const held: HeldWindow[] = [{ workerId: 'not-registered', start: W0, deltaIds: mine, totals: heldTable('wrong wrong') }];
      const outcome = await store.finalizeReady({ job: JOB, self: null, liveness: LIVENESS, summarize, now: W1, held });
      expect(outcome.usedHeld.size).toBe(0);
      expect(orderRows(outcome.published[0]!.rows)).toEqual(orderRows([['a', 1], ['b', 1]]));
    });

    describe('collapseDeltas', () => {
      const window = (entries: Record<string, number>) => ({ start: W0, end: W1, delta: counts(entries) as DeltaColumns });
      const openCommits = async () => (await store.status(LIVENESS, W0)).openWindows.find((w) => w.start === W0)?.commits;
      const finalRows = async (): Promise<ResultRow[]> => orderRows((await finalizeUpTo(store, JOB, W1, summarize, W1))[0]!.rows);

      it("replaces the worker's rows by one holding their sum; the result does not change", async () => {
        await register(store, 'w1', W1);
        const mine = [await commit(W0, { a: 1, b: 1 }), await commit(W0, { a: 2 })];
        await commit(W0, { a: 10 });
        await store.collapseDeltas(JOB, window({ a: 3, b: 1 }), 'w1', mine, W0);
        expect(await openCommits()).toBe(2);
        expect(await finalRows()).toEqual(orderRows([['a', 13], ['b', 1]]));
      });

      it('does nothing when one of the rows is gone or the worker is not registered', async () => {
        await register(store, 'w1', W1);
        const mine = [await commit(W0, { a: 1 }), await commit(W0, { a: 1 })];
        await store.collapseDeltas(JOB, window({ a: 2 }), 'w1', [...mine, mine[1]! + 100], W0);
        expect(await openCommits()).toBe(2);
        await store.collapseDeltas(JOB, window({ a: 2 }), 'someone-else', mine, W0);
        expect(await openCommits()).toBe(2);
        expect(await finalRows()).toEqual([['a', 2]]);
      });
    });
  });
}
