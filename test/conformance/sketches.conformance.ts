// Sketch reductions (quantile, distinct) in the store: stored, merged as a union across commits and workers,
// read while open, published, carried through a snapshot image.
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DeltaColumns, ResultRow } from '../../src/model.js';
import { reducerFor } from '../../src/reducers/reducers.js';
import { SketchTable } from '../../src/reducers/sketch-table.js';
import { DistinctSketch } from '../../src/reducers/sketches/distinct-sketch.js';
import { QuantileSketch } from '../../src/reducers/sketches/quantile-sketch.js';
import { summarizerFor } from '../../src/reducers/summarize.js';
import type { CommitBatch, JobDefinition, StateStore } from '../../src/state/port.js';
import { type Backend, finalizeUpTo, type FreshState, LIVENESS, RETAIN_MS, source, W0, W1 } from './support.js';

const DISTINCT_JOB = 'pages';
const QUANTILE_JOB = 'latency';
const QS = [0.5, 0.9, 0.99];
const DISTINCT_DEFINITION: JobDefinition = { reduction: 'distinct', window: '5s', key: 'field=1', value: 'field=2' };
const QUANTILE_DEFINITION: JobDefinition = { reduction: 'quantile', window: '5s', key: 'field=1', value: 'field=2', q: '0.5,0.9,0.99' };
const summarizeDistinct = summarizerFor(reducerFor('distinct', null));
const summarizeQuantiles = summarizerFor(reducerFor('quantile', QS));
const summarizers = (job: string) => (job === QUANTILE_JOB ? summarizeQuantiles : summarizeDistinct);

function users(entries: Record<string, readonly string[]>): DeltaColumns {
  const table = new SketchTable(() => new DistinctSketch());
  for (const [key, values] of Object.entries(entries)) for (const v of values) table.record(key).addString(v);
  return table;
}

function latencies(entries: Record<string, readonly number[]>): DeltaColumns {
  const table = new SketchTable(() => new QuantileSketch());
  for (const [key, values] of Object.entries(entries)) for (const v of values) table.record(key).add(v);
  return table;
}

function commitOf(job: string, start: number, delta: DeltaColumns, from: number, name: string): CommitBatch {
  let records = 0;
  for (let i = 0; i < delta.size; i++) records += delta.counts[i]!;
  return { job, now: W0, windows: [{ start, end: start + 5_000, delta }], sources: [source(from, from + 10, 1, name)], records, rejected: 0, late: 0 };
}

const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
const byKey = (rows: readonly ResultRow[]) => new Map(rows);

export function describeSketches(backend: Backend): void {
  let state: FreshState;
  let store: StateStore;

  beforeEach(async () => {
    state = await backend.fresh();
    store = state.store;
    await store.ensureJob(DISTINCT_JOB, DISTINCT_DEFINITION, W0, RETAIN_MS);
    await store.ensureJob(QUANTILE_JOB, QUANTILE_DEFINITION, W0, RETAIN_MS);
  });

  afterEach(async () => {
    await backend.dispose();
  });

  it('distinct deltas of two writers merge as a union: a value both saw counts once, exactly up to 1024 and within 2% past it', async () => {
    const other = (await state.another?.()) ?? store;
    await store.commit(commitOf(DISTINCT_JOB, W0, users({ '/a': range('u', 0, 600), '/b': ['x', 'y'] }), 0, 'one'));
    await other.commit(commitOf(DISTINCT_JOB, W0, users({ '/a': range('u', 400, 1000), '/b': ['y', 'z'] }), 0, 'two'));
    await store.commit(commitOf(DISTINCT_JOB, W0, users({ '/big': range('v', 0, 30_000) }), 10, 'one'));
    await other.commit(commitOf(DISTINCT_JOB, W0, users({ '/big': range('v', 10_000, 50_000) }), 10, 'two'));
    const [open] = await store.readOpen(DISTINCT_JOB, summarizers);
    const [published] = await finalizeUpTo(store, DISTINCT_JOB, W1, summarizeDistinct, W0);
    for (const rows of [open!.rows, published!.rows]) {
      const counts = byKey(rows);
      expect(counts.get('/a')).toBe(1000);
      expect(counts.get('/b')).toBe(3);
      expect(Math.abs((counts.get('/big') as number) - 50_000) / 50_000).toBeLessThan(0.02);
    }
    expect((await store.readPublished(DISTINCT_JOB))[0]!.rows).toEqual(published!.rows);
    const status = await store.status(LIVENESS, W0);
    expect(status.jobs.find((j) => j.job === DISTINCT_JOB)!.records).toBe(600 + 2 + 600 + 2 + 30_000 + 40_000);
  });

  it('quantile deltas merge into the sketch of all values: each quantile within 1%, negative values too', async () => {
    const values = Array.from({ length: 5000 }, (_, i) => (i % 10 === 0 ? -1 : 1) * Math.exp((i % 97) / 10));
    await store.commit(commitOf(QUANTILE_JOB, W0, latencies({ k: values.slice(0, 2000), one: [7] }), 0, 'one'));
    await store.commit(commitOf(QUANTILE_JOB, W0, latencies({ k: values.slice(2000) }), 10, 'one'));
    const [published] = await finalizeUpTo(store, QUANTILE_JOB, W1, summarizeQuantiles, W0);
    const sorted = [...values].sort((a, b) => a - b);
    const rows = byKey(published!.rows);
    expect(rows.get('one')).toEqual([7, 7, 7]);
    (rows.get('k') as number[]).forEach((estimate, i) => {
      const exact = sorted[Math.max(0, Math.ceil(QS[i]! * sorted.length) - 1)]!;
      expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(0.01 * Math.abs(exact));
    });
    // The published rows are stored as they are shown: one value per quantile.
    expect((await store.readFinalWindows(QUANTILE_JOB))[0]!.rows).toEqual(published!.rows);
  });

  it('a snapshot image carries the sketches of open windows: restored, they merge with later deltas', async () => {
    await store.commit(commitOf(DISTINCT_JOB, W0, users({ '/a': range('u', 0, 700) }), 0, 'one'));
    await store.commit(commitOf(QUANTILE_JOB, W0, latencies({ k: [1, 2, 3, 4, 100] }), 0, 'one'));
    const image = state.scratchFile('sketches.db');
    await store.exportImage(image);
    const target = (await backend.fresh()).store;
    await target.restoreImage(image);
    expect(await target.readOpen(null, summarizers)).toEqual(await store.readOpen(null, summarizers));
    await target.commit(commitOf(DISTINCT_JOB, W0, users({ '/a': range('u', 500, 1000) }), 10, 'one'));
    const [published] = await finalizeUpTo(target, DISTINCT_JOB, W1, summarizeDistinct, W0);
    expect(byKey(published!.rows).get('/a')).toBe(1000);
  });
}
