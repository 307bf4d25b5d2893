import { describe, expect, it } from 'vitest';
import { LineFramer, LONG_LINE_PREFIX_BYTES, type RejectReason } from '../../src/records/framer.js';
import { intBelow, pick, seededRandom } from '../support/prng.js';

/** A rejected line as the framer reports it: reason, where it starts, and the bytes it hands over. */
interface Rejected {
  reason: RejectReason;
  offset: number;
  bytes: string;
}

/**
 * Feeds `source` in the given chunks (from `startOffset` on) and checks every
 * run of lines handed out against the source bytes at its offset; returns the rejects.
 */
function frame(source: Buffer, cuts: readonly number[], maxLineBytes: number, keep: boolean, startOffset = 0): Rejected[] {
  const rejected: Rejected[] = [];
  let handed = 0;
  const framer = new LineFramer(
    {
      lines: (buf, start, end, offset) => {
        expect(buf.subarray(start, end).equals(source.subarray(offset, offset + end - start)), `run at ${offset}`).toBe(true);
        handed += end - start;
      },
      reject: (reason, offset, buf, start, end) => {
        // Copied now: the framer's buffer is only valid during the call.
        rejected.push({ reason, offset, bytes: buf.toString('latin1', start, end) });
      },
    },
    maxLineBytes,
    startOffset,
    keep,
  );
  let from = startOffset;
  for (const cut of [...cuts, source.length]) {
    framer.push(Buffer.from(source.subarray(from, cut)));
    from = cut;
  }
  framer.end();
  expect(framer.offset).toBe(source.length);
  expect(handed).toBeLessThanOrEqual(source.length - startOffset);
  return rejected;
}

const bytes = (text: string) => Buffer.from(text, 'latin1');

describe('LineFramer: where each run of lines and each rejected line lies in the source', () => {
  const SOURCE = bytes('ok 1\nbad \xff\r\nnul\x00 x\n0123456789abcdef\nok 2\r\nlast \xc3');

  it('gives each rejected line its start offset and its bytes without the line ending, for every split position', () => {
    for (let cut = 0; cut <= SOURCE.length; cut++) {
      expect(frame(SOURCE, [cut], 12, true), `cut at ${cut}`).toEqual([
        { reason: 'invalid UTF-8', offset: 5, bytes: 'bad \xff' },
        { reason: 'NUL byte', offset: 12, bytes: 'nul\x00 x' },
        { reason: 'line too long', offset: 19, bytes: '0123456789ab' },
        { reason: 'invalid UTF-8', offset: 42, bytes: 'last \xc3' },
      ]);
    }
  });

  it('hands over no bytes of a line too long unless asked to keep them; other rejected lines are in the chunk anyway', () => {
    for (let cut = 0; cut <= SOURCE.length; cut++) {
      const rejected = frame(SOURCE, [cut], 12, false);
      expect(rejected[2]).toEqual({ reason: 'line too long', offset: 19, bytes: '' });
      expect(rejected[0]).toEqual({ reason: 'invalid UTF-8', offset: 5, bytes: 'bad \xff' });
    }
  });

  it(`keeps at most the first ${LONG_LINE_PREFIX_BYTES} bytes of a line too long, whether it sat in one chunk or was skipped`, () => {
    const long = 'x'.repeat(LONG_LINE_PREFIX_BYTES - 1) + 'yz' + 'w'.repeat(5000);
    const source = bytes(`a\n${long}\nb\n`);
    const expected = [{ reason: 'line too long', offset: 2, bytes: long.slice(0, LONG_LINE_PREFIX_BYTES) }];
    expect(frame(source, [], 4000, true)).toEqual(expected);
    expect(frame(source, [10], 2000, true)).toEqual(expected);
    expect(frame(source, [3, 1500, 3000, 4500], 2000, true)).toEqual(expected);
  });

  it('counts offsets from a resumed start and past a skipped byte order mark', () => {
    const resumed = bytes('skipped\nok\nbad \xfe\n');
    expect(frame(resumed, [12], 100, true, 8)).toEqual([{ reason: 'invalid UTF-8', offset: 11, bytes: 'bad \xfe' }]);
    const bom = bytes('\xef\xbb\xbfbad \xfe\nok\n');
    expect(frame(bom, [1], 100, true)).toEqual([{ reason: 'invalid UTF-8', offset: 3, bytes: 'bad \xfe' }]);
  });

  it('matches a line-by-line model for random good and bad lines and random chunkings', () => {
    const random = seededRandom(11);
    const MAX = 40;
    for (let round = 0; round < 300; round++) {
      const lines: string[] = [];
      const count = 1 + intBelow(random, 12);
      for (let i = 0; i < count; i++) {
        const length = pick(random, [0, 1, 5, MAX - 1, MAX, MAX + 1, MAX + 2, 3 * MAX]);
        let line = '';
        for (let j = 0; j < length; j++) line += pick(random, ['a', 'b', ' ', '\xff', '\x00', '\r']);
        lines.push(line + pick(random, ['\n', '\r\n']));
      }
      const source = bytes(lines.join(''));
      const expected: Rejected[] = [];
      let offset = 0;
      for (const line of lines) {
        const content = line.replace(/\r?\n$/, '');
        const reason: RejectReason | null =
          content.length > MAX ? 'line too long' : content.includes('\x00') ? 'NUL byte' : content.includes('\xff') ? 'invalid UTF-8' : null;
        if (reason !== null) expected.push({ reason, offset, bytes: reason === 'line too long' ? content.slice(0, MAX) : content });
        offset += line.length;
      }
      const cuts = Array.from({ length: intBelow(random, 5) }, () => intBelow(random, source.length + 1)).sort((a, b) => a - b);
      expect(frame(source, cuts, MAX, true), `round ${round}, cuts ${cuts.join(',')}`).toEqual(expected);
    }
  });
});
