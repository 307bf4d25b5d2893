// Jobs, commits and finalization, reads and status: the protocol of one store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StaleBatchError, UsageError } from '../../src/errors.js';
import type { DeltaColumns, ResultRow, WindowResult } from '../../src/model.js';
import { PartialTable } from '../../src/reducers/partial-table.js';
import { reducerFor } from '../../src/reducers/reducers.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import type { CommitBatch, JobDefinition, StateStore } from '../../src/state/port.js';
import {
  type Backend,
  batch,
  DEFINITION,
  finalizeUpTo,
  JOB,
  LIVENESS,
  ordered,
  readable,
  rejection,
  RETAIN_MS,
  source,
  summarize,
  summarizeAny,
  W0,
  W1,
  W2,
  withOrderedRows,
} from './support.js';

export function describeCommits(backend: Backend): void {
  let store: StateStore;

  beforeEach(async () => {
    ({ store } = await backend.fresh());
  });

  afterEach(async () => {
    await backend.dispose();
  });

  describe('ensureJob', () => {
    it('pins the definition on first use and accepts the same definition again', async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
      expect(await store.jobDefinition(JOB)).toEqual(DEFINITION);
      await store.ensureJob(JOB, { ...DEFINITION }, W0 + 1, RETAIN_MS);
      expect(await store.jobNames()).toEqual([JOB]);
    });

    it('refuses a different definition, naming each difference with both values', async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
      const error = await rejection(store.ensureJob(JOB, { reduction: 'count', window: '10s', key: 'field=1' }, W0, RETAIN_MS));
      expect(error).toBeInstanceOf(UsageError);
      const message = error.message;
      expect(message).toContain("job 'default'");
      expect(message).toContain('window 5s (this run: 10s)');
      expect(message).toContain('key word (this run: field=1)');
      expect(message).not.toContain('reduction');
      expect(await store.jobDefinition(JOB)).toEqual(DEFINITION);
    });

    it('names an option that one side does not have as (unset)', async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
      await expect(store.ensureJob(JOB, { ...DEFINITION, delimiter: ',' }, W0, RETAIN_MS)).rejects.toThrow(
        /delimiter \(unset\) \(this run: ,\)/,
      );
      const { key: _key, ...withoutKey } = DEFINITION;
      await expect(store.ensureJob(JOB, withoutKey, W0, RETAIN_MS)).rejects.toThrow(/key word \(this run: \(unset\)\)/);
    });

    it('keeps jobs apart: another job may have another definition', async () => {
      await store.ensureJob('a', DEFINITION, W0, RETAIN_MS);
      await store.ensureJob('b', { ...DEFINITION, window: '1m' }, W0, RETAIN_MS);
      expect(await store.jobNames()).toEqual(['a', 'b']);
      expect(await store.jobDefinition('b')).toEqual({ ...DEFINITION, window: '1m' });
      expect(await store.jobDefinition('c')).toBeUndefined();
    });
  });

  describe('commit and finalization', () => {
    beforeEach(async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
    });

    it('merges deltas of several commits and publishes each finished window once, with increasing seq', async () => {
      await store.commit(batch([[W0, { to: 2, be: 1 }]], [source(0, 20, 2)]));
      await store.commit(batch([[W0, { be: 1, or: 1 }], [W1, { not: 1 }]], [source(20, 40, 2)]));
      await store.commit(batch([[W1, { to: 1, be: 2 }], [W0, { to: 1, question: 3 }]], [source(40, 60, 2)]));

      expect((await store.readOpen(JOB, summarizeAny)).map((w) => [w.start, w.end, w.state, w.seq, ordered(w.rows)])).toEqual([
        [W0, W1, 'open', null, ordered([['question', 3], ['to', 3], ['be', 2], ['or', 1]])],
        [W1, W2, 'open', null, ordered([['be', 2], ['not', 1], ['to', 1]])],
      ]);

      // Nothing has ended before the first window's end.
      expect(await finalizeUpTo(store, JOB, W1 - 1, summarize, W1 - 1)).toEqual([]);

      const first = await finalizeUpTo(store, JOB, W1, summarize, W1);
      expect(first.map(withOrderedRows)).toEqual<WindowResult[]>([
        { job: JOB, start: W0, end: W1, state: 'final', seq: 1, revision: 1, rows: ordered([['question', 3], ['to', 3], ['be', 2], ['or', 1]]) },
      ]);
      expect(await finalizeUpTo(store, JOB, W1, summarize, W1)).toEqual([]);

      const second = await finalizeUpTo(store, JOB, W2 + 60_000, summarize, W2);
      expect(second.map((w) => [w.start, w.seq, ordered(w.rows)])).toEqual([[W1, 2, ordered([['be', 2], ['not', 1], ['to', 1]])]]);
      expect(await finalizeUpTo(store, JOB, W2 + 60_000, summarize, W2)).toEqual([]);

      expect(await store.readOpen(JOB, summarizeAny)).toEqual([]);
      expect(await store.readPublished(JOB)).toEqual([...first, ...second]);
      expect(await store.readPublished(JOB, 2)).toEqual(second);
      expect(await store.readPublished(null, 3)).toEqual([]);
    });

    it('finalizes several finished windows in one call, oldest first', async () => {
      await store.commit(batch([[W2, { c: 1 }], [W0, { a: 1 }], [W1, { b: 1 }]]));
      const published = await finalizeUpTo(store, JOB, W2 + 5_000, summarize, W2 + 5_000);
      expect(published.map((w) => [w.start, w.seq])).toEqual([
        [W0, 1],
        [W1, 2],
        [W2, 3],
      ]);
    });

    it('records source offsets and lines, and counters, with the deltas', async () => {
      await store.commit(batch([[W0, { a: 3 }]], [source(0, 100, 10)], { rejected: 2, late: 0 }));
      await store.commit(batch([[W0, { a: 1 }]], [source(100, 250, 15), source(0, 7, 1, 'stdin')], { rejected: 1, late: 4 }));
      expect(await store.sourceOffset(JOB, 'file:/data/in.log')).toEqual({ offset: 250, lines: 25, maxEventTime: null, identity: null });
      expect(await store.sourceOffset(JOB, 'stdin')).toEqual({ offset: 7, lines: 1, maxEventTime: null, identity: null });
      expect(await store.sourceOffset(JOB, 'unknown')).toBeUndefined();
      const job = (await store.status(LIVENESS, W0)).jobs[0]!;
      expect(job).toMatchObject({ job: JOB, records: 4, rejected: 3, late: 4, duplicates: 0, openWindows: 1, finalizedWindows: 0 });
    });

    it('refuses a batch whose fromOffset does not match the database (a replay) and changes nothing', async () => {
      const applied = batch([[W0, { a: 1, b: 2 }]], [source(0, 100, 10)]);
      await store.commit(applied);
      const before = await readable(store);

      // The very same batch again: a replay after a crash between commit and acknowledgement.
      await expect(store.commit(applied)).rejects.toThrow(StaleBatchError);
      // A batch that starts from an older offset.
      await expect(store.commit(batch([[W0, { a: 5 }]], [source(50, 120, 3)]))).rejects.toThrow(StaleBatchError);
      // A batch that starts beyond the committed offset (a gap).
      await expect(store.commit(batch([[W0, { a: 5 }]], [source(150, 200, 3)]))).rejects.toThrow(
        /offset 100 in the database, but this batch starts at 150/,
      );

      expect(await readable(store)).toEqual(before);
      expect(ordered((await store.readOpen(JOB, summarizeAny))[0]!.rows)).toEqual(ordered([['b', 2], ['a', 1]]));
    });

    it('a batch with one stale source among several is refused whole', async () => {
      await store.commit(batch([[W0, { a: 1 }]], [source(0, 10, 1, 'one'), source(0, 10, 1, 'two')]));
      const before = await readable(store);
      await expect(
        store.commit(batch([[W0, { a: 1 }], [W1, { z: 1 }]], [source(10, 20, 1, 'one'), source(0, 20, 2, 'two')])),
      ).rejects.toThrow(StaleBatchError);
      expect(await readable(store)).toEqual(before);
      expect(await store.sourceOffset(JOB, 'one')).toEqual({ offset: 10, lines: 1, maxEventTime: null, identity: null });
    });

    it('a commit into an already finalized window reports it as late and leaves the published rows alone', async () => {
      await store.commit(batch([[W0, { a: 2 }]], [source(0, 10, 1)]));
      const published = await finalizeUpTo(store, JOB, W1, summarize, W1);
      expect(published).toHaveLength(1);

      const outcome = await store.commit(batch([[W0, { a: 5, b: 1 }], [W1, { c: 1 }]], [source(10, 30, 2)], { records: 7 }));
      expect(outcome.lateRecords).toBe(6);
      // The offsets still advance: the late records were handled (counted as late), not lost.
      expect(await store.sourceOffset(JOB, 'file:/data/in.log')).toEqual({ offset: 30, lines: 3, maxEventTime: null, identity: null });
      expect((await store.readOpen(JOB, summarizeAny)).map((w) => w.start)).toEqual([W1]);
      expect(await finalizeUpTo(store, JOB, W1, summarize, W1 + 100)).toEqual([]);
      expect(await store.readPublished(JOB)).toEqual(published);
      expect((await store.status(LIVENESS, W0)).jobs[0]).toMatchObject({ late: 6, finalizedWindows: 1, openWindows: 1 });
    });

    it('a commit with only fresh windows reports no late records; empty deltas store nothing', async () => {
      expect((await store.commit(batch([[W0, { a: 1 }], [W1, {}]]))).lateRecords).toBe(0);
      expect((await store.status(LIVENESS, W0)).openWindows.map((w) => w.start)).toEqual([W0]);
    });

    it('names the delta row written for each window, and none for a finalized one', async () => {
      const first = (await store.commit(batch([[W0, { a: 1 }]]))).deltaIds.get(W0);
      const second = (await store.commit(batch([[W0, { a: 2 }]]))).deltaIds.get(W0);
      expect(first).toBeTypeOf('number');
      expect(second).toBeGreaterThan(first!);
      await finalizeUpTo(store, JOB, W1, summarize, W1);
      expect((await store.commit(batch([[W0, { a: 5 }]]))).deltaIds.get(W0)).toBeUndefined();
    });

    it('finalizing one job leaves the windows of another job open', async () => {
      await store.ensureJob('other', DEFINITION, W0, RETAIN_MS);
      await store.commit(batch([[W0, { a: 1 }]]));
      await store.commit({ ...batch([[W0, { b: 1 }]]), job: 'other' });
      expect((await finalizeUpTo(store, JOB, W1, summarize, W1)).map((w) => w.job)).toEqual([JOB]);
      expect((await store.readOpen(null, summarizeAny)).map((w) => [w.job, w.rows])).toEqual([['other', [['b', 1]]]]);
      expect((await finalizeUpTo(store, 'other', W1, summarize, W1)).map((w) => [w.job, w.seq])).toEqual([['other', 2]]);
      expect((await store.readPublished('other')).map((w) => w.seq)).toEqual([2]);
      expect((await store.readPublished(null)).map((w) => [w.job, w.seq])).toEqual([
        [JOB, 1],
        ['other', 2],
      ]);
    });

    it('keeps keys intact through the database: multi-byte, commas, quotes, tabs, newlines', async () => {
      const keys = ['café', '漢字', '😀👍🏽', 'a,b', 'say "hi"', 'tab\there', 'two\nlines', '\\', ''];
      await store.commit(batch([[W0, Object.fromEntries(keys.map((k, i) => [k, i + 1]))]]));
      const [window] = await finalizeUpTo(store, JOB, W1, summarize, W1);
      const expected = ordered(keys.map((k, i): ResultRow => [k, i + 1]));
      expect(ordered(window!.rows)).toEqual(expected);
      expect(ordered((await store.readPublished(JOB))[0]!.rows)).toEqual(expected);
    });

    it('with --dedupe records, applies each id once across batches and builds the deltas of the new ones', async () => {
      const records = (ids: string[], keys: string[]) => ({
        ids,
        starts: ids.map(() => W0),
        keys,
        values: null,
        windowMs: 5_000,
        expiresAt: W0 + 60_000,
      });
      const first = await store.commit({ ...batch([]), records: 3, dedupe: records(['1', '2', '3'], ['a', 'b', 'a']) });
      expect(first.duplicates).toBe(0);
      const second = await store.commit({ ...batch([]), records: 3, dedupe: records(['2', '3', '4'], ['b', 'a', 'c']), duplicates: 1 });
      expect(second.duplicates).toBe(3);
      expect(ordered((await store.readOpen(JOB, summarizeAny))[0]!.rows)).toEqual(ordered([['a', 2], ['b', 1], ['c', 1]]));
      expect((await store.status(LIVENESS, W0)).jobs[0]).toMatchObject({ records: 4, duplicates: 3 });
    });
  });

  describe('status', () => {
    beforeEach(async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
    });

    it('reports jobs, sources, open windows and the published sequence', async () => {
      await store.commit(batch([[W0, { a: 1, b: 1 }], [W1, { a: 1 }]], [source(0, 30, 3)], { now: W0 + 100, rejected: 1 }));
      await store.commit(batch([[W0, { c: 1 }]], [source(30, 40, 1)], { now: W0 + 200 }));
      await finalizeUpTo(store, JOB, W0 + 5_000, summarize, W1);
      await store.commit(batch([[W2, { d: 1 }]], [source(40, 45, 1)], { now: W1 + 300 }));

      const status = await store.status(LIVENESS, W1 + 300);
      expect(status.schemaVersion).toBeGreaterThan(0);
      expect(status.publishedSeq).toBe(1);
      expect(status.jobs).toEqual([
        { job: JOB, definition: DEFINITION, records: 5, rejected: 1, late: 0, duplicates: 0, openWindows: 2, provisionalWindows: 0, finalizedWindows: 1 },
      ]);
      expect(status.sources).toEqual([
        { job: JOB, source: 'file:/data/in.log', kind: 'file', offset: 45, lines: 5, maxEventTime: null, clients: 0, refused: 0, updatedAt: W1 + 300 },
      ]);
      expect(status.openWindows).toEqual([
        { job: JOB, start: W1, end: W2, state: 'open', revision: null, commits: 1, keyRows: 1 },
        { job: JOB, start: W2, end: W2 + 5_000, state: 'open', revision: null, commits: 1, keyRows: 1 },
      ]);
    });

    it('counts commits and key rows per open window', async () => {
      await store.commit(batch([[W0, { a: 1, b: 1 }]]));
      await store.commit(batch([[W0, { a: 1, c: 1, d: 1 }]]));
      expect((await store.status(LIVENESS, W0)).openWindows).toEqual([
        { job: JOB, start: W0, end: W1, state: 'open', revision: null, commits: 2, keyRows: 5 },
      ]);
    });
  });

  describe('event-time progress of sources', () => {
    it('keeps the newest event time with the offset, as the latest batch reports it', async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
      await store.commit(batch([[W0, { a: 1 }]], [source(0, 10, 1, 'in', W0 + 1_500)]));
      expect(await store.sourceOffset(JOB, 'in')).toEqual({ offset: 10, lines: 1, maxEventTime: W0 + 1_500, identity: null });
      await store.commit(batch([[W1, { a: 1 }]], [source(10, 20, 1, 'in', W1 + 200)]));
      expect(await store.sourceOffset(JOB, 'in')).toEqual({ offset: 20, lines: 2, maxEventTime: W1 + 200, identity: null });
      await store.commit(batch([], [source(0, 5, 1, 'other', null)]));
      expect((await store.status(LIVENESS, W0)).sources.map((s) => [s.source, s.offset, s.maxEventTime])).toEqual([
        ['in', 20, W1 + 200],
        ['other', 5, null],
      ]);
    });
  });

  describe('finalizedStartsEndingAfter and earliestOpenWindowEnd', () => {
    beforeEach(async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
      await store.ensureJob('other', DEFINITION, W0, RETAIN_MS);
    });

    it('earliestOpenWindowEnd is the smallest end among open windows of the job, null when none is open', async () => {
      expect(await store.earliestOpenWindowEnd(JOB)).toBeNull();
      await store.commit(batch([[W2, { a: 1 }], [W1, { b: 1 }]]));
      await store.commit({ ...batch([[W0, { c: 1 }]]), job: 'other' });
      expect(await store.earliestOpenWindowEnd(JOB)).toBe(W2);
      expect(await store.earliestOpenWindowEnd('other')).toBe(W1);
      await finalizeUpTo(store, JOB, W2, summarize, W2);
      expect(await store.earliestOpenWindowEnd(JOB)).toBe(W2 + 5_000);
      await finalizeUpTo(store, JOB, W2 + 5_000, summarize, W2 + 5_000);
      expect(await store.earliestOpenWindowEnd(JOB)).toBeNull();
      expect(await store.earliestOpenWindowEnd('nobody')).toBeNull();
    });

    it('finalizedStartsEndingAfter lists the finalized windows of the job whose end is after the time', async () => {
      await store.commit(batch([[W0, { a: 1 }], [W1, { b: 1 }], [W2, { c: 1 }]]));
      await store.commit({ ...batch([[W1, { z: 1 }]]), job: 'other' });
      expect(await store.finalizedStartsEndingAfter(JOB, 0)).toEqual([]);
      await finalizeUpTo(store, JOB, W2, summarize, W2); // W0 and W1 are final, W2 stays open
      await finalizeUpTo(store, 'other', W2, summarize, W2);
      const sorted = async (time: number) => [...(await store.finalizedStartsEndingAfter(JOB, time))].sort((a, b) => a - b);
      expect(await sorted(0)).toEqual([W0, W1]);
      expect(await sorted(W0)).toEqual([W0, W1]);
      // End is exclusive: a window ending exactly at the time does not end after it.
      expect(await store.finalizedStartsEndingAfter(JOB, W1)).toEqual([W1]);
      expect(await store.finalizedStartsEndingAfter(JOB, W1 + 4_999)).toEqual([W1]);
      expect(await store.finalizedStartsEndingAfter(JOB, W2)).toEqual([]);
      expect(await store.finalizedStartsEndingAfter('other', W1)).toEqual([W1]);
      // An event-time run asks with its watermark before any event: -Infinity.
      expect(await sorted(-Infinity)).toEqual([W0, W1]);
      expect(await store.finalizedStartsEndingAfter(JOB, Infinity)).toEqual([]);
    });
  });

  describe('exact sums through the store', () => {
    const summarizeSum = summarizerFor(reducerFor('sum'));
    const SUM_DEFINITION: JobDefinition = { reduction: 'sum', window: '5s', key: 'field=1', value: 'field=2' };

    function values(entries: ReadonlyArray<readonly [string, number]>): DeltaColumns {
      const table = new PartialTable(true);
      for (const [key, value] of entries) table.addValue(key, value);
      return table;
    }

    function sumBatch(start: number, delta: DeltaColumns): CommitBatch {
      return { job: JOB, now: W0, windows: [{ start, end: start + 5_000, delta }], sources: [], records: delta.size, rejected: 0, late: 0 };
    }

    it('keeps the low parts of deltas, so sums merged from several commits are exact bigints, in open and final windows', async () => {
      await store.ensureJob(JOB, SUM_DEFINITION, W0, RETAIN_MS);
      const first = values([['big', 2 ** 53], ['big', 1], ['small', 0.5]]);
      expect(first.sumLows![0]).toBe(1); // the 1 lives in the low part
      await store.commit(sumBatch(W0, first));
      await store.commit(sumBatch(W0, values([['big', 1], ['big', Number.MAX_SAFE_INTEGER], ['small', 0.25]])));
      const expectedBig = 2n ** 53n + 2n + BigInt(Number.MAX_SAFE_INTEGER);
      const expectedRows = ordered([
        ['big', expectedBig],
        ['small', 0.75],
      ]);
      expect(ordered((await store.readOpen(JOB, () => summarizeSum))[0]!.rows)).toEqual(expectedRows);
      const [published] = await finalizeUpTo(store, JOB, W1, summarizeSum, W1);
      expect(ordered(published!.rows)).toEqual(expectedRows);
      // Published rows come back from the store as the same exact values, bigint included.
      expect(await store.readPublished(JOB)).toEqual([published]);
      expect(typeof (await store.readPublished(JOB))[0]!.rows.find(([key]) => key === 'big')![1]).toBe('bigint');
    });

    it('a counting job stores no sums and no low parts', async () => {
      await store.ensureJob(JOB, DEFINITION, W0, RETAIN_MS);
      await store.commit(batch([[W0, { a: 1 }]]));
      const [published] = await finalizeUpTo(store, JOB, W1, summarize, W1);
      expect(published!.rows).toEqual([['a', 1]]);
    });
  });
}
