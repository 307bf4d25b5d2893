import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_BY_SIGNAL, exitCodeAfter, trapStopSignals } from '../../src/cli/signals.js';

const releases: Array<() => void> = [];
afterEach(() => {
  for (const release of releases.splice(0)) release();
});

describe('trapStopSignals', () => {
  it('asks to stop on SIGINT or SIGTERM, keeping the first as the one received', () => {
    const stops: string[] = [];
    const trap = trapStopSignals((signal) => stops.push(signal));
    releases.push(() => trap.release());
    expect(trap.received).toBeNull();
    process.emit('SIGTERM');
    process.emit('SIGINT');
    process.emit('SIGINT');
    expect(stops).toEqual(['SIGTERM', 'SIGINT', 'SIGINT']);
    expect(trap.received).toBe('SIGTERM');
  });

  it('with forceExit, the same signal a second time exits at once with its code', () => {
    const stops: string[] = [];
    const trap = trapStopSignals(
      (signal) => stops.push(signal),
      (code) => {
        throw new Error(`exit ${code}`);
      },
    );
    releases.push(() => trap.release());
    process.emit('SIGINT');
    process.emit('SIGTERM'); // another signal: still a clean stop
    expect(() => process.emit('SIGINT')).toThrow('exit 130');
    expect(stops).toEqual(['SIGINT', 'SIGTERM']);
  });

  it('takes its handlers away on release', () => {
    const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    const trap = trapStopSignals(() => undefined);
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before.map((n) => n + 1));
    trap.release();
    expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(before);
  });
});

describe('exitCodeAfter', () => {
  it('is 130 after SIGINT and 143 after SIGTERM (128 + the signal number), else 0', () => {
    expect(EXIT_BY_SIGNAL).toEqual({ SIGINT: 130, SIGTERM: 143 });
    expect([exitCodeAfter('SIGINT'), exitCodeAfter('SIGTERM'), exitCodeAfter('EPIPE'), exitCodeAfter('end'), exitCodeAfter(null)]).toEqual([
      130, 143, 0, 0, 0,
    ]);
  });
});
