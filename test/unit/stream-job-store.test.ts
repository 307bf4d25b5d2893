// StreamJob against a store whose every operation takes time, as a server-backed store's would:
// at most one store operation in flight, and no record lost or counted twice while one is.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStreamOptions } from '../../src/cli/options.js';
import type { WindowResult } from '../../src/model.js';
import { StreamJob } from '../../src/pipeline/stream-job.js';
import type { Liveness, StateStore } from '../../src/state/port.js';
import { SqliteStore } from '../../src/state/sqlite/store.js';
import { clockStartingAt } from '../../src/windows/tumbling.js';
import { seededRandom } from '../support/prng.js';

const HOUR = 3_600_000;
const START = 1_764_151_200_000 - (1_764_151_200_000 % HOUR);
const LIVENESS: Liveness = { host: 'test-host', timeoutMs: 10_000, pidAlive: () => true };

/** `inner`, with every operation resolving only after `delayMs`; counts the operations in flight. */
function slowStore(inner: StateStore, delayMs: number) {
  const seen = { inFlight: 0, maxInFlight: 0, calls: new Map<string, number>() };
  const store = new Proxy(inner, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function' || name === 'close') return value;
      return async (...args: unknown[]) => {
        seen.inFlight++;
        seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
        seen.calls.set(String(name), (seen.calls.get(String(name)) ?? 0) + 1);
        try {
          await sleep(delayMs);
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          seen.inFlight--;
        }
      };
    },
  });
  return { store, seen };
}

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'statesync-job-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('StreamJob with a slow store', () => {
  it('keeps one store operation in flight and counts every word once, while input keeps arriving', async () => {
    const random = seededRandom(7);
    const expected = new Map<string, number>();
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const words: string[] = [];
      for (let w = 0; w < 10; w++) {
        const word = `w${Math.floor(random() * 2_000)}`;
        words.push(word);
        expected.set(word, (expected.get(word) ?? 0) + 1);
      }
      lines.push(words.join(' '));
    }
    const text = Buffer.from(`${lines.join('\n')}\n`);
    // A FIFO: the input arrives in bursts, so the timer's commits and the reads overlap.
    const fifo = join(dir, 'in.fifo');
    execFileSync('mkfifo', [fifo]);
    const writing = (async () => {
      const handle = await open(fifo, 'w');
      for (let at = 0; at < text.length; ) {
        const piece = 1 + Math.floor(random() * 8_000);
        await handle.write(text.subarray(at, Math.min(text.length, at + piece)));
        at += piece;
        if (random() < 0.5) await sleep(random() * 30);
      }
      await handle.close();
    })();

    const config = parseStreamOptions(
      'count',
      [fifo],
      {
        window: '1h',
        commitInterval: '20ms',
        maxLineBytes: String(1 << 20),
        job: 'default',
        dedupeTtl: '1h',
        workerTimeout: '10s',
        maxConnections: '256',
        retain: '1h',
        quiet: true,
      },
      { stdoutIsTTY: false, env: {} },
    );
    const inner = SqliteStore.open(null);
    const { store, seen } = slowStore(inner, 10);
    const published: WindowResult[] = [];
    const job = new StreamJob(config, {
      store,
      clock: clockStartingAt(START + 1_000),
      publish: (result) => published.push(result),
      note: () => undefined,
      liveness: LIVENESS,
      pid: process.pid,
    });
    try {
      const summary = await job.run();
      await writing;
      expect(summary.records).toBe(200_000);
      expect(seen.maxInFlight).toBe(1);
      expect(seen.calls.get('commit')).toBeGreaterThan(10);
      const totals = (w: WindowResult) => new Map(w.rows.map(([k, v]) => [k, Number(v)]));
      expect(published.map((w) => w.start)).toEqual([START]);
      expect(totals(published[0]!)).toEqual(expected);
      const [final] = await inner.readPublished(null);
      expect(totals(final!)).toEqual(expected);
      // What the commits recorded agrees: every byte and every record exactly once.
      const status = await inner.status(LIVENESS, START);
      expect(status.sources.map((s) => [s.offset, s.lines])).toEqual([[text.length, 20_000]]);
      expect(status.jobs[0]).toMatchObject({ records: 200_000 });
    } finally {
      await inner.close();
    }
  });
});

describe('StreamJob with a slow store and many clients', () => {
  it("frames a connection's unterminated last line only once the commit in flight is done: none is lost", async () => {
    const config = parseStreamOptions(
      'count',
      [],
      {
        listen: '127.0.0.1:0',
        window: '1h',
        commitInterval: '1ms',
        maxLineBytes: String(1 << 20),
        job: 'default',
        dedupeTtl: '1h',
        workerTimeout: '10s',
        maxConnections: '256',
        retain: '1h',
        quiet: false,
      },
      { stdoutIsTTY: false, env: {} },
    );
    const inner = SqliteStore.open(null);
    const { store } = slowStore(inner, 5);
    const published: WindowResult[] = [];
    let heard: (address: string) => void = () => undefined;
    const listening = new Promise<string>((resolve) => (heard = resolve));
    const job = new StreamJob(config, {
      store,
      clock: clockStartingAt(START + 1_000),
      publish: (result) => published.push(result),
      note: (line) => {
        if (line.startsWith('listening on ')) heard(line.slice('listening on '.length));
      },
      liveness: LIVENESS,
      pid: process.pid,
    });
    const running = job.run();
    try {
      const address = await listening;
      const port = Number(address.slice(address.lastIndexOf(':') + 1));
      const CLIENTS = 60;
      // Each client sends a whole line and one without its newline, then closes cleanly: its last line counts.
      await Promise.all(
        Array.from(
          { length: CLIENTS },
          (_, i) =>
            new Promise<void>((resolve, reject) => {
              const socket = connect(port, '127.0.0.1', () => {
                socket.write('w x\n');
                setTimeout(() => socket.end(`last${i % 3}`), i % 7);
              });
              socket.on('close', () => resolve());
              socket.on('error', reject);
            }),
        ),
      );
      const counted = async () => ((await inner.status(LIVENESS, START)).jobs[0]?.records ?? 0) === 3 * CLIENTS;
      // Every record read reaches the store with the commits that follow, not only at the stop.
      for (let waited = 0; !(await counted()) && waited < 20_000; waited += 20) await sleep(20);
      expect((await inner.status(LIVENESS, START)).jobs[0]?.records).toBe(3 * CLIENTS);
      job.stop('SIGTERM');
      const summary = await running;
      expect(summary.records).toBe(3 * CLIENTS);
      const totals = new Map(published.flatMap((w) => w.rows.map(([k, v]) => [k, Number(v)] as const)));
      expect(totals).toEqual(
        new Map([
          ['w', CLIENTS],
          ['x', CLIENTS],
          ['last0', CLIENTS / 3],
          ['last1', CLIENTS / 3],
          ['last2', CLIENTS / 3],
        ]),
      );
    } finally {
      await inner.close();
    }
  });
});
