import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RuntimeFailure } from '../../../src/errors.js';
import { Committer } from '../../../src/pipeline/committer.js';
import { RunCounters } from '../../../src/pipeline/counters.js';
import { OpenWindows } from '../../../src/pipeline/open-windows.js';
import { SourceCursors, type SourceCursor } from '../../../src/pipeline/source-cursors.js';
import { WindowClock } from '../../../src/pipeline/window-clock.js';
import { reducerFor } from '../../../src/reducers/reducers.js';
import { summarizerFor } from '../../../src/reducers/summarize.js';
import { WordCountTable } from '../../../src/reducers/word-count-table.js';
import type { Liveness, StateStore } from '../../../src/state/port.js';
import { SqliteStore } from '../../../src/state/sqlite/store.js';

const W = 10_000;
const T0 = 1_764_151_200_000;
const JOB = 'default';
const DEFINITION = { reduction: 'count', window: '10s' };
const LIVENESS: Liveness = { host: 'test-host', timeoutMs: 10_000, pidAlive: () => true };

let store: StateStore;
let now: number;
const wall = { now: () => now };

beforeEach(async () => {
  store = SqliteStore.open(null);
  now = T0 + 1000;
  await store.ensureJob(JOB, DEFINITION, now, 3_600_000);
});

afterEach(async () => {
  await store.close();
});

function setup() {
  const notes: string[] = [];
  const clock = new WindowClock({ windowMs: W, eventTime: false, latenessMs: 0, idleTimeoutMs: null, retryMs: 1000 }, now);
  const windows = new OpenWindows(W, () => new WordCountTable(), () => undefined);
  const cursors = new SourceCursors();
  const counters = new RunCounters();
  const cursor: SourceCursor = cursors.add('file:in', {
    kind: 'file',
    label: 'in',
    identity: null,
    network: null,
    fromOffset: 0,
    toOffset: 0,
    lines: 0,
    maxEventTime: null,
  });
  const committer = new Committer(
    { job: JOB, definition: DEFINITION, retainMs: 3_600_000, pid: process.pid, host: LIVENESS.host },
    store,
    wall,
    (line) => notes.push(line),
    1000,
    { windows, clock, cursors, counters, dedupe: null },
  );
  /** Reads `text` as the next bytes of the source, into the window of now. */
  const read = (text: string) => {
    const bytes = Buffer.from(text);
    const tally = { words: 0, lines: 0 };
    windows.at(clock.processingStart(now)).addWords(bytes, 0, bytes.length, tally);
    counters.records += tally.words;
    cursor.lines += tally.lines;
    cursor.toOffset += bytes.length;
  };
  return { committer, notes, read, counters, cursor, windows };
}

describe('Committer', () => {
  it('commits the deltas with the offsets they came from; only then do the cursor and counters move on', async () => {
    const { committer, read, counters, cursor } = setup();
    await committer.register();
    read('a b a\n');
    expect(committer.commitDue(now + 999)).toBe(false);
    expect(committer.commitDue(now + 1000)).toBe(true);
    await committer.commit();
    expect([cursor.fromOffset, cursor.lines, counters.records, counters.totalRecords]).toEqual([6, 0, 0, 3]);
    const [open] = await store.readOpen(JOB, () => summarizerFor(reducerFor('count')));
    expect(new Map(open!.rows)).toEqual(new Map([['a', 2], ['b', 1]]));
    expect((await store.sourceOffset(JOB, 'file:in'))?.offset).toBe(6);
    // Nothing new: a heartbeat only.
    await committer.commit();
    expect((await store.status(LIVENESS, now)).openWindows[0]?.commits).toBe(1);
  });

  it('fenced out by the other workers, says so, rejoins under a new id and commits as that', async () => {
    const { committer, notes, read } = setup();
    await committer.register();
    const first = committer.workerId;
    // Another worker finds this one's process gone and declares it dead.
    await store.registerWorker({ id: 'other', job: JOB, pid: 1, host: 'test-host', watermark: T0 }, now);
    await store.finalizeReady({
      job: JOB,
      self: 'other',
      liveness: { ...LIVENESS, pidAlive: (pid) => pid !== process.pid },
      summarize: summarizerFor(reducerFor('count')),
      now,
    });
    read('x\n');
    await committer.commit();
    expect(notes).toEqual([`worker ${first} was declared dead by the other workers (no heartbeat in time); rejoining as a new worker`]);
    expect(committer.workerId).not.toBe(first);
    const workers = await store.workers(LIVENESS, now);
    expect(new Map(workers.map((w) => [w.id, w.state]))).toEqual(
      new Map([
        [first, 'dead'],
        ['other', 'running'],
        [committer.workerId, 'running'],
      ]),
    );
    expect((await store.status(LIVENESS, now)).jobs[0]?.records).toBe(1);
  });

  it('refuses a batch another run already applied, saying how to avoid it', async () => {
    const { committer, read } = setup();
    await committer.register();
    // Another run read the same source meanwhile.
    await store.commit({
      job: JOB,
      now,
      windows: [],
      sources: [{ source: 'file:in', kind: 'file', fromOffset: 0, toOffset: 4, lines: 1, maxEventTime: null }],
      records: 0,
      rejected: 0,
      late: 0,
    });
    read('y\n');
    const err = await committer.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailure);
    expect((err as Error).message).toMatch(/another process applied it; two runs are reading the same source at once — stop one, or give each its own --source$/);
  });
});
