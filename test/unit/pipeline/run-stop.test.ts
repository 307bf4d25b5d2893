import { describe, expect, it } from 'vitest';
import { OneInFlight } from '../../../src/pipeline/one-in-flight.js';
import { RunStop } from '../../../src/pipeline/run-stop.js';

describe('RunStop', () => {
  it('stops once, for the first reason given; what waits on it is told', async () => {
    const stop = new RunStop();
    const told: string[] = [];
    stop.onStop(() => told.push('a'));
    const release = stop.onStop(() => told.push('b'));
    release();
    const waiting = stop.whenStopped();
    expect(stop.reason).toBeNull();
    stop.stop('SIGINT');
    stop.stop('SIGTERM');
    await waiting;
    expect(stop.reason).toBe('SIGINT');
    expect(stop.signal.aborted).toBe(true);
    expect(told).toEqual(['a']);
    // Asked after the stop: told at once.
    stop.onStop(() => told.push('late'));
    expect(told).toEqual(['a', 'late']);
    expect(() => stop.throwIfFailed()).not.toThrow();
  });

  it('a failure is a failure, not a signal: the reason says so and the first error is kept', () => {
    const stop = new RunStop();
    const first = new Error('read failed');
    stop.fail(first);
    stop.fail(new Error('second'));
    expect(stop.reason).toBe('failure');
    expect(stop.failed).toBe(true);
    expect(() => stop.throwIfFailed()).toThrow(first);
  });

  it('keeps a failure that comes after a stop, to be thrown once the run has wound down', () => {
    const stop = new RunStop();
    stop.stop('SIGTERM');
    stop.fail(new Error('commit failed'));
    expect(stop.reason).toBe('SIGTERM');
    expect(() => stop.throwIfFailed()).toThrow('commit failed');
  });
});

describe('OneInFlight', () => {
  it('runs one operation at a time, in order, and says when none is in flight', async () => {
    const ops = new OneInFlight(() => undefined);
    const log: string[] = [];
    let release!: () => void;
    const first = ops.run(async () => {
      log.push('first starts');
      await new Promise<void>((resolve) => (release = resolve));
      log.push('first ends');
    });
    const second = ops.run(async () => {
      log.push('second');
    });
    expect(ops.busy).toBe(true);
    const idle = ops.whenIdle(() => log.push('idle'));
    await Promise.resolve();
    expect(log).toEqual(['first starts']);
    release();
    await Promise.all([first, second, idle]);
    expect(log).toEqual(['first starts', 'first ends', 'second', 'idle']);
    expect(ops.busy).toBe(false);
  });

  it("runs a waiter's action only with nothing in flight, even when an earlier waiter started an operation", async () => {
    const ops = new OneInFlight(() => undefined);
    const log: string[] = [];
    void ops.run(async () => void log.push('op 1'));
    const a = ops.whenIdle(() => {
      log.push('a');
      void ops.run(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push('op 2');
      });
    });
    const b = ops.whenIdle(() => log.push('b'));
    await Promise.all([a, b]);
    expect(log).toEqual(['op 1', 'a', 'op 2', 'b']);
  });

  it('lets readers in while an operation that allows it holds its door open, and holds them again once it closes', async () => {
    const ops = new OneInFlight(() => undefined);
    const log: string[] = [];
    let release!: () => void;
    let door!: { close(): void };
    const op = ops.run(async () => {
      door = ops.letReadersIn();
      await new Promise<void>((resolve) => (release = resolve));
      log.push('op done');
    }, true);
    expect(ops.busy).toBe(true);
    expect(ops.holdsReaders).toBe(false);
    await ops.whenReadable(() => log.push('read while open'));
    door.close();
    expect(ops.holdsReaders).toBe(true);
    const reader = ops.whenReadable(() => log.push('read after'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(log).toEqual(['read while open']);
    release();
    await Promise.all([op, reader]);
    expect(log).toEqual(['read while open', 'op done', 'read after']);
  });

  it('holds readers again as soon as another operation queues behind one that let them in, and lets none in while one is queued', async () => {
    // A rotation's commit queued behind a commit waiting for the threads: the next chunk must wait for the new framer.
    const ops = new OneInFlight(() => undefined);
    const log: string[] = [];
    let release!: () => void;
    const commit = ops.run(async () => {
      ops.letReadersIn();
      await new Promise<void>((resolve) => (release = resolve));
      log.push('commit done');
    }, true);
    expect(ops.holdsReaders).toBe(false);
    let releaseRotation!: () => void;
    const rotation = ops.run(async () => {
      await new Promise<void>((resolve) => (releaseRotation = resolve));
      log.push('rotation done');
    }, true);
    expect(ops.holdsReaders).toBe(true);
    const reader = ops.whenReadable(() => log.push('read'));
    release();
    await commit;
    await new Promise((resolve) => setTimeout(resolve, 5));
    // The rotation is in flight now, and did not let readers in.
    expect(log).toEqual(['commit done']);
    expect(ops.holdsReaders).toBe(true);
    releaseRotation();
    await Promise.all([rotation, reader]);
    expect(log).toEqual(['commit done', 'rotation done', 'read']);

    // An operation that may let readers in cannot while another waits behind it.
    let releaseFirst!: () => void;
    const first = ops.run(async () => {
      await new Promise<void>((resolve) => (releaseFirst = resolve));
    }, true);
    const second = ops.run(async () => undefined);
    const door = ops.letReadersIn();
    expect(ops.holdsReaders).toBe(true);
    door.close();
    releaseFirst();
    await Promise.all([first, second]);
    expect(ops.holdsReaders).toBe(false);
  });

  it('wakes a waiting reader when the door opens; an operation not started to let readers in keeps them out', async () => {
    const ops = new OneInFlight(() => undefined);
    const log: string[] = [];
    let open!: () => void;
    const op = ops.run(async () => {
      await new Promise<void>((resolve) => (open = resolve));
      ops.letReadersIn();
      log.push('door open');
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push('op done');
    }, true);
    const reader = ops.whenReadable(() => log.push('read'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    open();
    await Promise.all([op, reader]);
    expect(log).toEqual(['door open', 'read', 'op done']);

    let release!: () => void;
    const closed = ops.run(async () => {
      ops.letReadersIn();
      await new Promise<void>((resolve) => (release = resolve));
      log.push('closed op done');
    });
    expect(ops.holdsReaders).toBe(true);
    const held = ops.whenReadable(() => log.push('read after closed op'));
    release();
    await Promise.all([closed, held]);
    expect(log.slice(3)).toEqual(['closed op done', 'read after closed op']);
  });

  it('never rejects: a failed operation goes to the failure handler and the next one still runs', async () => {
    const failures: unknown[] = [];
    const ops = new OneInFlight((err) => failures.push(err));
    const boom = new Error('boom');
    await ops.run(async () => {
      throw boom;
    });
    let ran = false;
    await ops.run(async () => {
      ran = true;
    });
    expect(failures).toEqual([boom]);
    expect(ran).toBe(true);
    expect(ops.busy).toBe(false);
  });
});
