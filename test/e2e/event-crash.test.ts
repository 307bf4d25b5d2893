/**
 * Event-time recovery: a SIGKILLed `sum --time ... --db` rerun on its file
 * ends with exactly the results of an uninterrupted run, late decisions
 * included, because the newest event time is committed with the offset.
 */
import { writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  collect,
  committedOffset,
  integrityCheck,
  parseJsonLines,
  runCliOk,
  seededRandom,
  sleep,
  spawnCli,
  status,
  useTempDir,
  waitFor,
} from './helpers.js';

/** ~4 MB of `ISO-time user value` lines, out of order by up to 3x the lateness so some are late. */
function generate(random: () => number): string {
  const base = Date.UTC(2026, 2, 1);
  let text = '';
  for (let i = 0; text.length < 4 * 1024 * 1024; i++) {
    const time = base + i * 50 - Math.floor(random() * 15_000);
    const user = `u${Math.floor(random() * random() * 500)}`;
    const value = Math.floor(random() * 1000) - 100;
    text += `${new Date(time).toISOString()} ${user} ${value}\n`;
  }
  return text;
}

describe('event-time run survives SIGKILL with the same results and late decisions', () => {
  const tmp = useTempDir('event-crash');
  let file: string;
  let size: number;

  beforeAll(async () => {
    file = tmp.path('events.txt');
    const text = generate(seededRandom(42));
    size = Buffer.byteLength(text);
    await writeFile(file, text);
  });

  const args = (db: string) => [
    'sum', file, '--db', db, '--key', 'field=2', '--value', 'field=3', '--time', 'field=1',
    '--window', '10s', '--lateness', '5s', '--commit-interval', '20ms', '--quiet',
  ];

  async function results(db: string) {
    const q = await runCliOk(['query', '--db', db, '--format', 'json']);
    const rows = parseJsonLines(q.stdout).map((r) => `${r.window_start} ${r.key} ${r.value}`);
    return rows.sort();
  }

  it('matches the uninterrupted run exactly', async () => {
    const reference = tmp.path('reference.db');
    await runCliOk(args(reference));
    const expected = await results(reference);
    const expectedStatus = await status(reference);
    expect(expectedStatus.jobs[0]!.late).toBeGreaterThan(1000);

    const db = tmp.path('crashed.db');
    const random = seededRandom(7);
    const killedAt: number[] = [];
    for (let round = 0; round < 5; round++) {
      const child = spawnCli(args(db));
      const done = collect(child);
      child.stdin.end();
      const target = Math.floor(size * (0.1 + round * 0.16 + random() * 0.08));
      const from = killedAt.at(-1) ?? 0;
      await waitFor(`offset ${target}`, () => {
        if (child.exitCode !== null) return true;
        const now = committedOffset(db);
        return now !== undefined && now > from && now >= target ? true : undefined;
      }, 20_000, 2);
      // The seeded jitter is the point: the kill lands anywhere in reading, counting or committing.
      await sleep(Math.floor(random() * 10));
      child.kill('SIGKILL');
      await done;
      killedAt.push((await status(db)).sources[0]?.offset ?? 0);
    }
    expect(new Set(killedAt.filter((o) => o > 0 && o < size)).size).toBeGreaterThanOrEqual(3);

    await runCliOk(args(db));
    expect(await results(db)).toEqual(expected);
    const st = await status(db);
    expect({ records: st.jobs[0]!.records, late: st.jobs[0]!.late, rejected: st.jobs[0]!.rejected }).toEqual({
      records: expectedStatus.jobs[0]!.records,
      late: expectedStatus.jobs[0]!.late,
      rejected: 0,
    });
    expect(integrityCheck(db)).toBe('ok');
  });
});
