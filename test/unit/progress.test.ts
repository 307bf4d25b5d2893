import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/progress.js';

/** A stand-in for stderr that records what is written. */
function terminal(isTTY: boolean) {
  const stream = { isTTY, written: '', write: (text: string) => ((stream.written += text), true) };
  return stream;
}

describe('progressBar', () => {
  it('is shown only on a terminal', () => {
    expect(progressBar(terminal(false) as unknown as NodeJS.WriteStream)).toBeNull();
    expect(progressBar(terminal(true) as unknown as NodeJS.WriteStream)).not.toBeNull();
  });

  it('draws label, bar, percentage, MiB done of total and the rate on one line, redrawn in place', () => {
    const out = terminal(true);
    const bar = progressBar(out as unknown as NodeJS.WriteStream)!;
    bar.update('in.txt', 1048576, 4 * 1048576);
    expect(out.written).toMatch(/^\r\x1b\[Kin\.txt \[###### {18}\] 25% 1\.0\/4\.0 MiB \d+\.\d MB\/s$/);
    // Redrawn at most five times a second, but always at the end.
    bar.update('in.txt', 2 * 1048576, 4 * 1048576);
    expect(out.written.match(/\r/g)).toHaveLength(1);
    bar.update('in.txt', 4 * 1048576, 4 * 1048576);
    expect(out.written).toMatch(/\[#{24}\] 100% 4\.0\/4\.0 MiB/);
  });

  it('clear() wipes the bar before other output; done() leaves it on its own line', () => {
    const out = terminal(true);
    const bar = progressBar(out as unknown as NodeJS.WriteStream)!;
    bar.clear();
    bar.done();
    expect(out.written).toBe(''); // nothing drawn, nothing to wipe
    bar.update('verify', 10, 10);
    bar.clear();
    expect(out.written.endsWith('\r\x1b[K')).toBe(true);
    bar.update('verify', 10, 10);
    out.written = '';
    bar.done();
    expect(out.written).toBe('\n');
  });
});
