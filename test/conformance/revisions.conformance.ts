// Provisional windows and their revisions: amended by later records, final once the watermark passes, each (window, revision) once.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { WindowResult } from '../../src/model.js';
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
  ordered,
  RETAIN_MS,
  summarize,
  summarizeAny,
  W0,
  W1,
  W2,
} from './support.js';

/** What a publication says, rows ordered: [seq, revision, state, rows]. */
const shown = (w: WindowResult) => [w.seq, w.revision, w.state, ordered(w.rows)];

export function describeRevisions(backend: Backend): void {
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

  /** A worker that commits `entries` into `start` with `watermark`, then finishes: its end of input. */
  async function runToEnd(id: string, start: number, entries: Record<string, number>, watermark: number): Promise<WindowResult[]> {
    await store.registerWorker({ id, job: JOB, pid: process.pid, host: HOST, watermark }, watermark);
    await store.commit(batch([[start, entries]], [], { now: watermark, worker: { id, watermark, idle: false } }));
    await store.finishWorker(id, watermark);
    return [...(await store.finalizeReady({ job: JOB, self: null, liveness: LIVENESS, summarize, now: watermark })).published];
  }

  it('a window published at an end of input before the watermark passed it is provisional, amended, then final', async () => {
    // Three runs inside the window [W0, W1): each publishes it again, complete, as the next revision.
    expect((await runToEnd('run-1', W0, { a: 1 }, W0 + 1_000)).map(shown)).toEqual([[1, 1, 'provisional', [['a', 1]]]]);
    expect((await runToEnd('run-2', W0, { a: 1, b: 1 }, W0 + 2_000)).map(shown)).toEqual([[2, 2, 'provisional', [['a', 2], ['b', 1]]]]);
    expect((await runToEnd('run-3', W0, { c: 5 }, W0 + 3_000)).map(shown)).toEqual([
      [3, 3, 'provisional', [['c', 5], ['a', 2], ['b', 1]]],
    ]);
    expect((await store.readOpen(JOB, summarizeAny)).map((w) => [w.state, w.revision])).toEqual([['provisional', 3]]);
    expect(await store.readFinalWindows(JOB)).toEqual([]);

    // A later run whose watermark passes the window's end makes it final: nothing changed, so the same rows.
    const later = await runToEnd('run-4', W1, { d: 1 }, W1 + 1_000);
    expect(later.map((w) => [w.start, ...shown(w)])).toEqual([
      [W0, 4, 4, 'final', [['c', 5], ['a', 2], ['b', 1]]],
      [W1, 5, 1, 'provisional', [['d', 1]]],
    ]);
    expect((await store.readFinalWindows(JOB)).map((w) => [w.start, w.revision])).toEqual([[W0, 4]]);

    // A final window never changes: a record for it is late.
    const outcome = await store.commit(batch([[W0, { late: 2 }]], [], { now: W1 + 2_000 }));
    expect(outcome.lateRecords).toBe(2);
    expect((await store.readPublished(JOB)).map((w) => [w.seq, w.start, w.revision])).toEqual([
      [1, W0, 1],
      [2, W0, 2],
      [3, W0, 3],
      [4, W0, 4],
      [5, W1, 1],
    ]);
  });

  it('a provisional window that changed is published final with its new rows when the watermark passes', async () => {
    await runToEnd('run-1', W0, { a: 1 }, W0 + 1_000);
    await store.commit(batch([[W0, { a: 1 }]], [], { now: W0 + 2_000 }));
    const published = await finalizeUpTo(store, JOB, W1, summarize, W1);
    expect(published.map(shown)).toEqual([[2, 2, 'final', [['a', 2]]]]);
    expect(await store.readOpen(JOB, summarizeAny)).toEqual([]);
  });

  it('nothing is published again for a provisional window that did not change while the watermark has not passed it', async () => {
    await runToEnd('run-1', W0, { a: 1 }, W0 + 1_000);
    await store.registerWorker({ id: 'idle', job: JOB, pid: process.pid, host: HOST, watermark: W0 + 2_000 }, W0 + 2_000);
    await store.finishWorker('idle', W0 + 2_000);
    expect((await store.finalizeReady({ job: JOB, self: null, liveness: LIVENESS, summarize, now: W0 + 2_000 })).published).toEqual([]);
  });

  it('two writers racing publish each (window, revision) once', async () => {
    const other = state.another === null ? store : await state.another();
    await runToEnd('run-1', W0, { a: 1 }, W0 + 1_000);
    await store.commit(batch([[W0, { b: 1 }]], [], { now: W0 + 2_000 }));
    const request = { job: JOB, self: null, liveness: LIVENESS, summarize, now: W0 + 2_000 };
    const [mine, theirs] = await Promise.all([store.finalizeReady(request), other.finalizeReady(request)]);
    expect([...mine.published, ...theirs.published].map(shown)).toEqual([[2, 2, 'provisional', [['a', 1], ['b', 1]]]]);
  });

  it('compaction keeps the latest revision of a window, and publication numbers are never reused', async () => {
    await runToEnd('run-1', W0, { a: 1 }, W0 + 1_000);
    await runToEnd('run-2', W0, { a: 1 }, W0 + 2_000);
    const report = await store.compact(W0 + 3_000, null);
    expect(report).toMatchObject({ revisions: 1, results: 0 });
    expect((await store.readPublished(JOB)).map(shown)).toEqual([[2, 2, 'provisional', [['a', 2]]]]);

    await finalizeUpTo(store, JOB, W2, summarize, W2);
    // Past every retention: all results go, the counter stays.
    await store.compact(W2 + 10 * RETAIN_MS, null);
    expect(await store.readPublished(JOB)).toEqual([]);
    await store.commit(batch([[W2, { z: 1 }]], [], { now: W2 }));
    const next = await finalizeUpTo(store, JOB, W2 + 5_000, summarize, W2 + 5_000);
    expect(next.map((w) => w.seq)).toEqual([4]);
    expect((await store.status(LIVENESS, W2)).publishedSeq).toBe(4);
  });

  it('recentPublications lists the newest publications first, per job or of all, with revision, finality and row count', async () => {
    await store.ensureJob('second', DEFINITION, W0, RETAIN_MS);
    await runToEnd('run-1', W0, { a: 1 }, W0 + 1_000);
    await runToEnd('run-2', W0, { a: 1, b: 1 }, W0 + 2_000);
    await store.commit(batch([[W0, { x: 1, y: 2, z: 3 }]], [], { job: 'second', now: W0 }));
    await finalizeUpTo(store, 'second', W1, summarize, W1);
    await finalizeUpTo(store, JOB, W1, summarize, W1);
    const summary = (p: { seq: number; job: string; start: number; end: number; revision: number; final: boolean; rowCount: number }) => [
      p.seq,
      p.job,
      p.start,
      p.end,
      p.revision,
      p.final,
      p.rowCount,
    ];
    expect((await store.recentPublications(null, 10)).map(summary)).toEqual([
      [4, JOB, W0, W1, 3, true, 2],
      [3, 'second', W0, W1, 1, true, 3],
      [2, JOB, W0, W1, 2, false, 2],
      [1, JOB, W0, W1, 1, false, 1],
    ]);
    expect((await store.recentPublications(JOB, 2)).map((p) => p.seq)).toEqual([4, 2]);
    expect((await store.recentPublications('second', 5)).map((p) => p.seq)).toEqual([3]);
    for (const p of await store.recentPublications(null, 10)) expect(Number.isSafeInteger(p.publishedAt)).toBe(true);
  });
}
