/**
 * `query` tells open windows from finished ones in every format: a finalized
 * window from a run that ended, and an open one left by a worker killed after
 * its commit (its deltas stay until someone finalizes the window).
 */
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { collect, runCli, runCliOk, spawnCli, useTempDir, waitForSource } from './helpers.js';

const FINAL = '2026-01-01T00:00:00.000Z\t2026-01-02T00:00:00.000Z';
const OPEN = '2026-03-01T00:00:00.000Z\t2026-03-02T00:00:00.000Z';

describe('query shows each window as open or final', () => {
  const tmp = useTempDir('query-state');
  let db: string;

  beforeAll(async () => {
    db = tmp.path('state.db');
    await writeFile(tmp.path('done.txt'), 'a b a\n');
    await runCliOk(['count', tmp.path('done.txt'), '--db', db, '--window', '1d', '--quiet'], {
      env: { STATESYNC_NOW: '2026-01-01T00:00:00Z' },
    });
    const worker = spawnCli(['count', '--db', db, '--window', '1d', '--commit-interval', '50ms', '--quiet'], {
      env: { STATESYNC_NOW: '2026-03-01T00:00:00Z' },
    });
    const ended = collect(worker);
    worker.stdin.write('c c d\n');
    await waitForSource(db, 'the worker to commit its line', (s) => s.kind === 'stdin' && s.lines === 1);
    worker.kill('SIGKILL');
    expect((await ended).signal).toBe('SIGKILL');
  }, 30_000);

  const query = async (format: string) => (await runCliOk(['query', '--db', db, '--format', format])).stdout;

  it('tsv: a trailing state column after the four result columns', async () => {
    expect(await query('tsv')).toBe(
      `${FINAL}\ta\t2\tfinal\n${FINAL}\tb\t1\tfinal\n${OPEN}\tc\t2\topen\n${OPEN}\td\t1\topen\n`,
    );
  });

  it('csv: the state column, named in the header', async () => {
    const [header, ...rows] = (await query('csv')).trimEnd().split('\n');
    expect(header).toBe('window_start,window_end,key,value,state');
    expect(rows.map((r) => r.split(',').slice(2).join(','))).toEqual(['a,2,final', 'b,1,final', 'c,2,open', 'd,1,open']);
  });

  it('json: "state" on every row', async () => {
    const rows = (await query('json'))
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; state: string });
    expect(rows.map((r) => [r.key, r.state])).toEqual([
      ['a', 'final'],
      ['b', 'final'],
      ['c', 'open'],
      ['d', 'open'],
    ]);
  });

  it.each(['table', 'text'])('%s: each window heading says open or final', async (format) => {
    const headings = (await query(format)).split('\n').filter((l) => l.includes(' .. '));
    expect(headings).toEqual([
      '2026-01-01T00:00:00.000Z .. 2026-01-02T00:00:00.000Z (final)',
      '2026-03-01T00:00:00.000Z .. 2026-03-02T00:00:00.000Z (open)',
    ]);
  });

  it('the stream commands mark each row with its revision and final, after the four columns', async () => {
    const r = await runCli(['count', '--window', '1d'], { input: 'x\n', env: { STATESYNC_NOW: '2026-01-01T00:00:00Z' } });
    expect(r.stdout).toBe(`${FINAL}\tx\t1\t1\ttrue\n`);
  });
});
