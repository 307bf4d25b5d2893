import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { binPath, cliEnv, seededRandom, useTempDir } from './helpers.js';

const WINDOW_MS = 10_000;
const LATENESS_MS = 5_000;
const BASE = Date.UTC(2026, 0, 1);

interface Rec {
  time: number;
  user: string;
  value: number;
}

/** Records in arrival order; event times run forward and are shuffled back by up to `jitter` ms. */
function generate(n: number, jitter: number, seed: number): Rec[] {
  const rand = seededRandom(seed);
  const out: Rec[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      time: BASE + i * 37 - Math.floor(rand() * jitter),
      user: `user${Math.floor(rand() * rand() * 60)}`,
      // Quarters are exact in binary, so every sum is exact and the oracle can use plain addition.
      value: Math.floor(rand() * 4000) / 4 - 200,
    });
  }
  return out;
}

type Agg = { count: number; sum: number; min: number; max: number };

/** The straightforward reference: the watermark rule replayed record by record. */
function oracle(records: readonly Rec[]): { windows: Map<string, Agg>; late: number } {
  const windows = new Map<string, Agg>();
  let newest = -Infinity;
  let late = 0;
  for (const r of records) {
    const start = r.time - (r.time % WINDOW_MS);
    if (start + WINDOW_MS <= newest - LATENESS_MS) {
      late++;
    } else {
      const id = `${start}|${r.user}`;
      const a = windows.get(id) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
      a.count++;
      a.sum += r.value;
      a.min = Math.min(a.min, r.value);
      a.max = Math.max(a.max, r.value);
      windows.set(id, a);
    }
    newest = Math.max(newest, r.time);
  }
  return { windows, late };
}

function run(args: string[], dir: string): { rows: Map<string, number>; stderr: string } {
  const res = spawnSync(process.execPath, [binPath, ...args, '--format', 'json'], { cwd: dir, env: cliEnv(), encoding: 'utf8' });
  expect(res.status, res.stderr).toBe(0);
  const rows = new Map<string, number>();
  for (const line of res.stdout.split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as { window_start: string; window_end: string; key: string; value: number };
    const start = Date.parse(o.window_start);
    expect(Date.parse(o.window_end) - start).toBe(WINDOW_MS);
    const id = `${start}|${o.key}`;
    expect(rows.has(id), `${id} printed twice`).toBe(false);
    rows.set(id, o.value);
  }
  return { rows, stderr: res.stderr };
}

function expected(windows: Map<string, Agg>, reduction: keyof Agg | 'avg'): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, a] of windows) out.set(id, reduction === 'avg' ? a.sum / a.count : a[reduction]);
  return out;
}

const REDUCTIONS = ['count', 'sum', 'min', 'max', 'avg'] as const;

describe('event-time results equal an independent implementation', () => {
  const tmp = useTempDir('oracle');
  const inOrder = generate(30_000, LATENESS_MS - 1, 7);
  const truth = oracle(inOrder);

  it('has no late records when disorder stays within the lateness', () => {
    expect(truth.late).toBe(0);
    expect(truth.windows.size).toBeGreaterThan(1000);
  });

  let jsonFile: string;
  let textFile: string;
  beforeAll(() => {
    jsonFile = tmp.path('events.jsonl');
    writeFileSync(
      jsonFile,
      inOrder.map((r) => JSON.stringify({ ts: r.time, meta: { user: r.user }, bytes: r.value })).join('\n') + '\n',
    );
    textFile = tmp.path('events.txt');
    writeFileSync(
      textFile,
      inOrder.map((r, i) => `${new Date(r.time).toISOString()}\t${r.user}  ${i % 3 === 0 ? r.value.toFixed(2) : r.value}`).join('\r\n'),
    );
  });

  for (const reduction of REDUCTIONS) {
    it(`${reduction} over JSON lines with epoch-ms times`, () => {
      const value = reduction === 'count' ? [] : ['--value', 'json=bytes'];
      const { rows } = run(
        [reduction, jsonFile, '--key', 'json=meta.user', ...value, '--time', 'json=ts', '--time-format', 'epoch-ms',
          '--window', '10s', '--lateness', '5s'],
        tmp.dir,
      );
      expect(rows).toEqual(expected(truth.windows, reduction));
    });

    it(`${reduction} over whitespace fields with ISO-8601 times (auto-detected, CRLF)`, () => {
      const value = reduction === 'count' ? [] : ['--value', 'field=3'];
      const { rows } = run(
        [reduction, textFile, '--key', 'field=2', ...value, '--time', 'field=1', '--window', '10s', '--lateness', '5s'],
        tmp.dir,
      );
      expect(rows).toEqual(expected(truth.windows, reduction));
    });
  }

  it('late records follow the watermark rule, order by order', () => {
    // Disorder up to 3x the lateness: a good share of records arrive after their window closed.
    const shuffled = generate(20_000, LATENESS_MS * 3, 11);
    const ref = oracle(shuffled);
    expect(ref.late).toBeGreaterThan(100);
    const file = tmp.path('late.jsonl');
    // Every line ends: with --db an unterminated last line would wait for the next run.
    writeFileSync(file, shuffled.map((r) => `${JSON.stringify({ t: r.time / 1000, u: r.user, v: r.value })}\n`).join(''));
    const lateFile = tmp.path('late-out.txt');
    const { rows, stderr } = run(
      ['sum', file, '--key', 'json=u', '--value', 'json=v', '--time', 'json=t', '--time-format', 'epoch-s',
        '--window', '10s', '--lateness', '5s', '--late-output', lateFile, '--db', tmp.path('late.db')],
      tmp.dir,
    );
    expect(rows).toEqual(expected(ref.windows, 'sum'));
    expect(stderr).toContain(`${ref.late} late records`);
    const status = spawnSync(process.execPath, [binPath, 'status', '--db', tmp.path('late.db'), '--format', 'json'], {
      env: cliEnv(),
      encoding: 'utf8',
    });
    const report = JSON.parse(status.stdout) as { jobs: Array<{ late: number }> };
    expect(report.jobs[0]!.late).toBe(ref.late);
    const lateLines = readFileSync(lateFile, 'utf8').trim().split('\n');
    expect(lateLines).toHaveLength(ref.late);
  });
});
