import { describe, expect, it } from 'vitest';
import { pumpLane, type LaneHost } from '../../../src/pipeline/lanes.js';
import { OneInFlight } from '../../../src/pipeline/one-in-flight.js';
import { RunStop } from '../../../src/pipeline/run-stop.js';
import { LineFramer } from '../../../src/records/framer.js';

async function* chunksOf(...pieces: Array<string | Error>): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    if (piece instanceof Error) throw piece;
    yield Buffer.from(piece);
  }
}

function host(due: () => boolean = () => false) {
  const stop = new RunStop();
  const ops = new OneInFlight((err) => stop.fail(err));
  let catchUps = 0;
  const h: LaneHost = {
    stop,
    ops,
    due,
    catchUp: () => ops.run(async () => void catchUps++),
    framer: () => new LineFramer({ lines: () => undefined, reject: () => undefined }, 1024),
  };
  return { h, stop, ops, catchUps: () => catchUps };
}

describe('pumpLane', () => {
  it('hands every chunk over, in order, to the lane end; commits when due', async () => {
    let n = 0;
    const { h, catchUps } = host(() => ++n % 2 === 0);
    const taken: string[] = [];
    expect(await pumpLane(chunksOf('a', 'b', 'c'), (c) => taken.push(String(c)), h, () => undefined)).toBe(true);
    expect(taken).toEqual(['a', 'b', 'c']);
    expect(catchUps()).toBe(1);
  });

  it('waits for the store operation in flight before handing over a chunk', async () => {
    const { h, ops } = host();
    const log: string[] = [];
    let release!: () => void;
    void ops.run(() => new Promise<void>((resolve) => (release = resolve)).then(() => void log.push('op done')));
    const pumping = pumpLane(chunksOf('a'), () => log.push('chunk'), h, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual([]);
    release();
    await pumping;
    expect(log).toEqual(['op done', 'chunk']);
  });

  it('does not wait for the commit it starts: the next chunk is handed over as soon as that commit lets readers in', async () => {
    const { h, ops } = host();
    const log: string[] = [];
    let release!: () => void;
    let calls = 0;
    h.due = () => ++calls === 1;
    h.catchUp = () =>
      ops.run(async () => {
        log.push('commit starts');
        const door = ops.letReadersIn();
        await new Promise<void>((resolve) => (release = resolve));
        door.close();
        log.push('commit ends');
      }, true);
    const pumping = pumpLane(chunksOf('a', 'b'), (c) => log.push(String(c)), h, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual(['a', 'commit starts', 'b']);
    release();
    await pumping;
    await ops.whenIdle();
    expect(log).toEqual(['a', 'commit starts', 'b', 'commit ends']);
  });

  it('ends after the chunk in hand once the run stops, and closes the chunks', async () => {
    const { h, stop } = host();
    let closed = false;
    async function* endless(): AsyncGenerator<Buffer> {
      try {
        for (;;) yield Buffer.from('x');
      } finally {
        closed = true;
      }
    }
    let taken = 0;
    const ended = await pumpLane(endless(), () => ++taken === 3 && stop.stop('SIGINT'), h, () => undefined);
    expect([ended, taken, closed]).toEqual([true, 3, true]);
  });

  it('tells a chunk that cannot be read to `readFailed`; a chunk that cannot be handled fails the run', async () => {
    const { h, stop } = host();
    const failures: unknown[] = [];
    const bad = new Error('corrupt');
    expect(await pumpLane(chunksOf('a', bad), () => undefined, h, (err) => failures.push(err))).toBe(false);
    expect(failures).toEqual([bad]);
    expect(stop.stopped).toBe(false);

    const broken = new Error('sink failed');
    const ended = await pumpLane(chunksOf('a'), () => {
      throw broken;
    }, h, () => undefined);
    expect(ended).toBe(false);
    expect(stop.reason).toBe('failure');
    expect(() => stop.throwIfFailed()).toThrow(broken);
  });
});
