import { describe, expect, it } from 'vitest';
import { LineFramer, type RejectReason } from '../../src/records/framer.js';
import { intBelow, pick, seededRandom } from '../support/prng.js';

type Event = { line: string } | { reject: RejectReason };

/** Drives a LineFramer and records what it hands out, one event per line or rejection. */
class Recorder {
  readonly events: Event[] = [];
  /** Raw bytes of every handed-out run, concatenated. */
  private handed: Buffer[] = [];
  readonly framer: LineFramer;

  constructor(maxLineBytes: number, startOffset?: number) {
    this.framer = new LineFramer(
      {
        lines: (buf, start, end) => {
          expect(end).toBeGreaterThan(start);
          const run = Buffer.from(buf.subarray(start, end));
          this.handed.push(run);
          // Split the run into its lines; each but a final unterminated one ends with "\n".
          let lineStart = 0;
          while (lineStart < run.length) {
            const nl = run.indexOf(10, lineStart);
            const lineEnd = nl < 0 ? run.length : nl + 1;
            this.events.push({ line: run.toString('utf8', lineStart, lineEnd) });
            lineStart = lineEnd;
          }
        },
        reject: (reason) => {
          this.events.push({ reject: reason });
        },
      },
      maxLineBytes,
      startOffset,
    );
  }

  push(chunk: Buffer): this {
    this.framer.push(chunk);
    return this;
  }

  end(): this {
    this.framer.end();
    return this;
  }

  get lines(): string[] {
    return this.events.flatMap((e) => ('line' in e ? [e.line] : []));
  }

  get rejects(): RejectReason[] {
    return this.events.flatMap((e) => ('reject' in e ? [e.reject] : []));
  }

  get handedBytes(): Buffer {
    return Buffer.concat(this.handed);
  }
}

/** Byte offsets of the line starts of `bytes`: the only places a restart may resume at. */
function lineBoundaries(bytes: Buffer): Set<number> {
  const boundaries = new Set([0, bytes.length]);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) boundaries.add(i + 1);
  return boundaries;
}

function endOfLastNewline(bytes: Buffer, upTo: number): number {
  return bytes.subarray(0, upTo).lastIndexOf(10) + 1;
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(bytes.subarray(start, cut));
    start = cut;
  }
  return chunks;
}

function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const SAMPLE = Buffer.from('héllo wörld\r\n漢字 😀\nplain line\r\n\n👍🏽 ünï\r\nlast 🇫🇷 line');
const SAMPLE_LINES = splitLines(SAMPLE.toString('utf8'));

describe('LineFramer: whole lines across chunk boundaries', () => {
  it('hands out complete lines in runs; the final unterminated line only at end()', () => {
    const r = new Recorder(1000).push(Buffer.from('one\ntwo\r\nthree'));
    expect(r.lines).toEqual(['one\n', 'two\r\n']);
    expect(r.framer.offset).toBe(9);
    r.end();
    expect(r.lines).toEqual(['one\n', 'two\r\n', 'three']);
    expect(r.rejects).toEqual([]);
    expect(r.framer.offset).toBe(14);
  });

  it('end() after a final newline or on empty input adds nothing', () => {
    expect(new Recorder(1000).push(Buffer.from('a\nb\n')).end().lines).toEqual(['a\n', 'b\n']);
    const empty = new Recorder(1000).end();
    expect(empty.events).toEqual([]);
    expect(empty.framer.offset).toBe(0);
    const emptyChunks = new Recorder(1000).push(Buffer.alloc(0)).push(Buffer.from('x\n')).push(Buffer.alloc(0)).end();
    expect(emptyChunks.lines).toEqual(['x\n']);
    expect(emptyChunks.framer.offset).toBe(2);
  });

  it('gives the same lines and offsets for two chunks split at every byte position (inside multi-byte characters and between \\r and \\n too)', () => {
    for (let cut = 0; cut <= SAMPLE.length; cut++) {
      const r = new Recorder(1000);
      r.push(SAMPLE.subarray(0, cut));
      expect(r.framer.offset).toBe(endOfLastNewline(SAMPLE, cut));
      r.push(SAMPLE.subarray(cut));
      expect(r.framer.offset).toBe(endOfLastNewline(SAMPLE, SAMPLE.length));
      expect(r.lines).toEqual(SAMPLE_LINES.slice(0, -1));
      r.end();
      expect(r.lines, `cut at byte ${cut}`).toEqual(SAMPLE_LINES);
      expect(r.rejects).toEqual([]);
      expect(r.handedBytes.equals(SAMPLE)).toBe(true);
      expect(r.framer.offset).toBe(SAMPLE.length);
    }
  });

  it('gives the same lines for three chunks split at every pair of positions', () => {
    for (let a = 0; a <= SAMPLE.length; a++) {
      for (let b = a; b <= SAMPLE.length; b++) {
        const r = new Recorder(1000);
        for (const chunk of splitAt(SAMPLE, [a, b])) {
          r.push(chunk);
        }
        r.end();
        expect(r.lines).toEqual(SAMPLE_LINES);
        expect(r.rejects).toEqual([]);
      }
    }
  });

  it('works one byte at a time, the offset always just past the last newline', () => {
    const r = new Recorder(1000);
    for (let i = 0; i < SAMPLE.length; i++) {
      r.push(SAMPLE.subarray(i, i + 1));
      expect(r.framer.offset).toBe(endOfLastNewline(SAMPLE, i + 1));
    }
    r.end();
    expect(r.lines).toEqual(SAMPLE_LINES);
    expect(r.framer.offset).toBe(SAMPLE.length);
  });

  it('copies what it holds: a source may reuse its chunk buffer', () => {
    const r = new Recorder(1000);
    const reused = Buffer.alloc(8);
    for (const piece of ['ab', 'cd\nef', 'gh\n']) {
      reused.fill(0);
      const n = reused.write(piece);
      r.push(reused.subarray(0, n));
    }
    r.end();
    expect(r.lines).toEqual(['abcd\n', 'efgh\n']);
  });

  it('starts counting offsets at startOffset (a resumed source)', () => {
    const r = new Recorder(1000, 500);
    expect(r.framer.offset).toBe(500);
    r.push(Buffer.from('abc\nde'));
    expect(r.framer.offset).toBe(504);
    r.end();
    expect(r.framer.offset).toBe(506);
  });
});

describe('LineFramer: over-long lines', () => {
  it('accepts a line of exactly maxLineBytes (not counting its line end) at every split position, with LF or CRLF', () => {
    for (const ending of ['\n', '\r\n']) {
      const input = Buffer.from(`ok\n${'x'.repeat(10)}${ending}after\n`);
      for (let cut = 0; cut <= input.length; cut++) {
        const r = new Recorder(10);
        for (const chunk of splitAt(input, [cut])) r.push(chunk);
        r.end();
        expect(r.rejects, `ending ${JSON.stringify(ending)}, cut at ${cut}`).toEqual([]);
        expect(r.lines).toEqual(['ok\n', `${'x'.repeat(10)}${ending}`, 'after\n']);
        expect(r.framer.offset).toBe(input.length);
      }
    }
  });

  it('rejects a line of maxLineBytes + 1 at every split position, with LF or CRLF, and goes on', () => {
    for (const ending of ['\n', '\r\n']) {
      const input = Buffer.from(`ok\n${'x'.repeat(11)}${ending}after\n`);
      for (let cut = 0; cut <= input.length; cut++) {
        const r = new Recorder(10);
        for (const chunk of splitAt(input, [cut])) r.push(chunk);
        r.end();
        expect(r.events, `ending ${JSON.stringify(ending)}, cut at ${cut}`).toEqual([
          { line: 'ok\n' },
          { reject: 'line too long' },
          { line: 'after\n' },
        ]);
        expect(r.framer.offset).toBe(input.length);
      }
    }
  });

  it('rejects each over-long line once, whether it sits inside one chunk or spans several', () => {
    const long = (c: string): string => c.repeat(50);
    const input = Buffer.from(`a\n${long('1')}\nb\n${long('2')}\n${long('3')}\r\nc\n${long('4')}`);
    for (const chunkSize of [1, 3, 7, 20, 49, 50, 51, 64, 1000]) {
      const r = new Recorder(20);
      for (let i = 0; i < input.length; i += chunkSize) r.push(input.subarray(i, i + chunkSize));
      r.end();
      expect(r.events, `chunks of ${chunkSize}`).toEqual([
        { line: 'a\n' },
        { reject: 'line too long' },
        { line: 'b\n' },
        { reject: 'line too long' },
        { reject: 'line too long' },
        { line: 'c\n' },
        { reject: 'line too long' },
      ]);
      expect(r.framer.offset).toBe(input.length);
    }
  });

  it('rejects an over-long line when its end is seen, never before; the offset stays at its start until then', () => {
    const input = Buffer.from(`ok\n${'x'.repeat(30)}\nnext\n`);
    const r = new Recorder(10);
    r.push(input.subarray(0, 3 + 12)); // "ok\n" and 12 bytes of the long line: past the limit already
    expect(r.events).toEqual([{ line: 'ok\n' }]);
    expect(r.framer.offset).toBe(3);
    r.push(input.subarray(15, 33)); // the rest of the line, still without its newline
    expect(r.rejects).toEqual([]);
    expect(r.framer.offset).toBe(3);
    r.push(input.subarray(33, 34)); // its newline
    expect(r.events).toEqual([{ line: 'ok\n' }, { reject: 'line too long' }]);
    expect(r.framer.offset).toBe(34);
    r.push(input.subarray(34));
    r.end();
    expect(r.events).toEqual([{ line: 'ok\n' }, { reject: 'line too long' }, { line: 'next\n' }]);
    expect(r.framer.offset).toBe(input.length);
  });

  it('for every split position: rejected once, in the push holding its newline, the offset always just past the last newline', () => {
    for (const ending of ['\n', '\r\n']) {
      const input = Buffer.from(`ok\n${'x'.repeat(25)}${ending}after\n`);
      const newlineAt = input.indexOf(10, 3);
      for (let cut = 0; cut <= input.length; cut++) {
        const r = new Recorder(10);
        r.push(input.subarray(0, cut));
        const label = `ending ${JSON.stringify(ending)}, cut at ${cut}`;
        expect(r.rejects, label).toEqual(cut > newlineAt ? ['line too long'] : []);
        expect(r.framer.offset, label).toBe(endOfLastNewline(input, cut));
        r.push(input.subarray(cut));
        r.end();
        expect(r.events, label).toEqual([{ line: 'ok\n' }, { reject: 'line too long' }, { line: 'after\n' }]);
        expect(r.framer.offset).toBe(input.length);
      }
    }
  });

  it('matches a line-by-line model for random lines around the limit, random chunkings, LF and CRLF', () => {
    const random = seededRandom(7);
    const MAX_LINE = 12;
    for (let round = 0; round < 300; round++) {
      const lineCount = 1 + intBelow(random, 8);
      const texts: string[] = [];
      for (let i = 0; i < lineCount; i++) {
        const length = intBelow(random, 2 * MAX_LINE + 4);
        let text = '';
        for (let j = 0; j < length; j++) text += pick(random, ['x', 'y', ' ', 'é', '\r']);
        texts.push(text);
      }
      const lastTerminated = random() < 0.5;
      const raw = texts.map((t, i) => (i < texts.length - 1 || lastTerminated ? `${t}${pick(random, ['\n', '\r\n'])}` : t)).join('');
      const input = Buffer.from(raw);
      // The model: each line (its content without the LF or CRLF ending) is handed out whole, or rejected once when too long.
      const expected: Event[] = [];
      for (const line of splitLines(raw)) {
        let content = line.endsWith('\n') ? line.slice(0, -1) : line;
        if (content.endsWith('\r')) content = content.slice(0, -1);
        if (Buffer.byteLength(content) > MAX_LINE) expected.push({ reject: 'line too long' });
        else if (line.length > 0) expected.push({ line });
      }
      const cuts = Array.from({ length: intBelow(random, 6) }, () => intBelow(random, input.length + 1)).sort((a, b) => a - b);
      const r = new Recorder(MAX_LINE);
      let fed = 0;
      for (const chunk of splitAt(input, cuts)) {
        r.push(chunk);
        fed += chunk.length;
        const label = `round ${round}, ${JSON.stringify(raw)}, cuts ${cuts.join(',')}, fed ${fed}`;
        expect(r.framer.offset, label).toBe(endOfLastNewline(input, fed));
        const completeLines = splitLines(input.subarray(0, endOfLastNewline(input, fed)).toString('utf8')).length;
        expect(r.events, label).toEqual(expected.slice(0, completeLines));
      }
      r.end();
      expect(r.events, `round ${round}, ${JSON.stringify(raw)}, cuts ${cuts.join(',')}`).toEqual(expected);
      expect(r.framer.offset).toBe(input.length);
    }
  });

  const MAX = 1000;
  const CHUNK = 64 * 1024;
  const BEFORE = 'before\n';
  const AFTER = 'after 1\nafter 2\n';
  const FIVE_MB_LINE = Buffer.concat([Buffer.from(BEFORE), Buffer.alloc(5 * 1024 * 1024, 'x'), Buffer.from(`\n${AFTER}`)]);
  /** Where the 5 MB line's newline is. */
  const LONG_LINE_END = BEFORE.length + 5 * 1024 * 1024;

  /** Feeds `input` through one reused chunk buffer, as a stream source would; calls `check` after each push. */
  function feedInChunks(r: Recorder, input: Buffer, check: (fed: number) => void = () => {}): void {
    const chunk = Buffer.alloc(CHUNK);
    for (let fed = 0; fed < input.length; ) {
      const n = input.copy(chunk, 0, fed, fed + CHUNK);
      r.push(chunk.subarray(0, n));
      fed += n;
      check(fed);
    }
  }

  it('skips a 5 MB line fed in 64 KB chunks without buffering it, rejecting it once at its newline, and the next lines come through', () => {
    const r = new Recorder(MAX);
    const memoryBefore = process.memoryUsage().arrayBuffers;
    let rejectedAt = -1;
    feedInChunks(r, FIVE_MB_LINE, (fed) => {
      if (rejectedAt < 0 && r.rejects.length > 0) rejectedAt = fed;
      expect(r.rejects.length).toBeLessThanOrEqual(1);
      expect(r.framer.offset).toBeLessThanOrEqual(fed);
    });
    const memoryGrowth = process.memoryUsage().arrayBuffers - memoryBefore;
    r.end();
    // Rejected when its end was seen: in the push of the chunk holding its newline, not when it passed the limit.
    expect(rejectedAt).toBe(Math.min(Math.ceil((LONG_LINE_END + 1) / CHUNK) * CHUNK, FIVE_MB_LINE.length));
    expect(r.events).toEqual([{ line: BEFORE }, { reject: 'line too long' }, { line: 'after 1\n' }, { line: 'after 2\n' }]);
    expect(r.handedBytes.toString()).toBe(BEFORE + AFTER);
    expect(r.framer.offset).toBe(FIVE_MB_LINE.length);
    // Holding the line would have cost at least 5 MB.
    expect(memoryGrowth).toBeLessThan(2 * 1024 * 1024);
  });

  it('while skipping an over-long line, the offset stays at its start (a restart must not resume inside the line)', () => {
    const boundaries = lineBoundaries(FIVE_MB_LINE);
    const r = new Recorder(MAX);
    const inside: string[] = [];
    const notAtLineStart: string[] = [];
    feedInChunks(r, FIVE_MB_LINE, (fed) => {
      if (!boundaries.has(r.framer.offset)) inside.push(`offset ${r.framer.offset} after ${fed} bytes`);
      if (fed <= LONG_LINE_END && r.framer.offset !== BEFORE.length) notAtLineStart.push(`offset ${r.framer.offset} after ${fed} bytes`);
    });
    expect(inside.slice(0, 3)).toEqual([]);
    expect(notAtLineStart.slice(0, 3)).toEqual([]);
    expect(r.framer.offset).toBe(FIVE_MB_LINE.length);
    // Small case: after "ok\n" and 30 bytes of an over-long line, a restart must resume at 3, the line's start;
    // the line is not rejected yet, since its end has not been seen.
    const small = new Recorder(10).push(Buffer.from(`ok\n${'x'.repeat(30)}`));
    expect(small.rejects).toEqual([]);
    expect(small.framer.offset).toBe(3);
    small.push(Buffer.from('x'.repeat(30)));
    expect(small.rejects).toEqual([]);
    expect(small.framer.offset).toBe(3);
    small.push(Buffer.from('x\r\nnext\n'));
    expect(small.events).toEqual([{ line: 'ok\n' }, { reject: 'line too long' }, { line: 'next\n' }]);
    expect(small.framer.offset).toBe(3 + 61 + 2 + 5);
  });

  it('a restart from the offset saved while skipping re-reads the over-long line whole and never treats its tail as a record', () => {
    const input = Buffer.from(`ok\n${'x'.repeat(40)} tail words\nnext\n`);
    const first = new Recorder(10).push(input.subarray(0, 30));
    const saved = first.framer.offset;
    expect(saved).toBe(3);
    // The resumed source reads from the saved offset.
    const resumed = new Recorder(10, saved);
    resumed.push(input.subarray(saved));
    resumed.end();
    expect(resumed.events).toEqual([{ reject: 'line too long' }, { line: 'next\n' }]);
    expect(resumed.framer.offset).toBe(input.length);
  });

  it('an over-long final line without a newline is rejected, once, at end(), and end() hands out nothing for it', () => {
    const r = new Recorder(8).push(Buffer.from('ok\n')).push(Buffer.from('y'.repeat(30))).push(Buffer.from('y'.repeat(30)));
    expect(r.events).toEqual([{ line: 'ok\n' }]);
    expect(r.framer.offset).toBe(3);
    r.end();
    expect(r.events).toEqual([{ line: 'ok\n' }, { reject: 'line too long' }]);
    expect(r.framer.offset).toBe(63);
    r.end();
    expect(r.events).toEqual([{ line: 'ok\n' }, { reject: 'line too long' }]);
  });

  it('rejects a final unterminated line of exactly maxLineBytes + 1 bytes at end(), however it was chunked', () => {
    for (const chunks of [['x'.repeat(11)], ['ok\n' + 'x'.repeat(11)], ['ok\n', 'x'.repeat(11)], ['ok\nxxxxx', 'xxxxxx']]) {
      const r = new Recorder(10);
      for (const chunk of chunks) r.push(Buffer.from(chunk));
      r.end();
      const ok: Event[] = chunks.join('').startsWith('ok') ? [{ line: 'ok\n' }] : [];
      expect(r.events, JSON.stringify(chunks)).toEqual([...ok, { reject: 'line too long' }]);
      expect(r.framer.offset).toBe(Buffer.byteLength(chunks.join('')));
    }
    // Its CR, if it ends in one, is a line end: exactly maxLineBytes of content is fine.
    expect(new Recorder(10).push(Buffer.from(`${'x'.repeat(10)}\r`)).end().rejects).toEqual([]);
  });

  it('allows one byte of slack for a CR held at a chunk end, which may be part of the CRLF ending', () => {
    for (const max of [1, 5, 10]) {
      const line = `${'z'.repeat(max)}\r\n`;
      const r = new Recorder(max);
      r.push(Buffer.from(line.slice(0, max + 1))); // the content and the CR: max + 1 bytes held
      expect(r.events).toEqual([]);
      r.push(Buffer.from('\n'));
      r.end();
      expect(r.events, `max ${max}`).toEqual([{ line }]);
      expect(r.framer.offset).toBe(max + 2);
    }
    // A CR that is not the line end counts towards the limit.
    const r = new Recorder(5).push(Buffer.from('zzzzz\r')).push(Buffer.from('z\n'));
    expect(r.events).toEqual([{ reject: 'line too long' }]);
    expect(r.framer.offset).toBe(8);
  });
});

describe('LineFramer: UTF-8 byte order mark', () => {
  const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

  it('skips a BOM at offset 0; the offset still counts its 3 bytes', () => {
    const r = new Recorder(1000).push(Buffer.concat([BOM, Buffer.from('a b\nc\n')]));
    expect(r.lines).toEqual(['a b\n', 'c\n']);
    expect(r.framer.offset).toBe(9);
    r.end();
    expect(r.lines).toEqual(['a b\n', 'c\n']);
  });

  it('a BOM-only input gives no line, and a BOM before a final unterminated line is skipped too', () => {
    const only = new Recorder(1000).push(BOM).end();
    expect(only.events).toEqual([]);
    expect(only.framer.offset).toBe(3);
    const unterminated = new Recorder(1000).push(Buffer.concat([BOM, Buffer.from('word')])).end();
    expect(unterminated.events).toEqual([{ line: 'word' }]);
    expect(unterminated.framer.offset).toBe(7);
  });

  it('the BOM does not count towards the first line\'s length limit', () => {
    const r = new Recorder(4).push(Buffer.concat([BOM, Buffer.from('abcd\nabcde\n')])).end();
    expect(r.events).toEqual([{ line: 'abcd\n' }, { reject: 'line too long' }]);
    expect(r.framer.offset).toBe(14);
  });

  it('keeps a BOM that is not at offset 0: inside the input, or at the start of a resumed source', () => {
    const inside = new Recorder(1000).push(Buffer.concat([Buffer.from('a\n'), BOM, Buffer.from('b\n')])).end();
    expect(inside.lines).toEqual(['a\n', '\ufeffb\n']);
    const resumed = new Recorder(1000, 10).push(Buffer.concat([BOM, Buffer.from('b\n')])).end();
    expect(resumed.lines).toEqual(['\ufeffb\n']);
    expect(resumed.framer.offset).toBe(15);
  });

  it('skips the BOM at offset 0 whatever the first chunk holds (split inside the BOM, or an empty first chunk)', () => {
    const input = Buffer.concat([BOM, Buffer.from('a b\nc\n')]);
    for (let cut = 0; cut <= input.length; cut++) {
      const r = new Recorder(1000);
      for (const chunk of splitAt(input, [cut])) r.push(chunk);
      r.end();
      expect(r.lines, `cut at ${cut}`).toEqual(['a b\n', 'c\n']);
      expect(r.framer.offset).toBe(input.length);
    }
  });
});

describe('LineFramer: invalid UTF-8 and NUL bytes', () => {
  const MIXED = Buffer.concat([
    Buffer.from('good 1\n'),
    Buffer.from([0x62, 0x61, 0x64, 0xff, 0x0a]), // "bad\xff\n"
    Buffer.from('good 2 ü\r\n'),
    Buffer.from('nul\u0000here\n'),
    Buffer.from('good 3 漢字\n'),
    Buffer.from([0xc0, 0xaf, 0x0a]), // overlong "/"
    Buffer.from([0xed, 0xa0, 0x80, 0x0a]), // an encoded UTF-16 surrogate
    Buffer.from([0xe6, 0xbc, 0x0a]), // a character cut short by the newline
    Buffer.from('\u0000\r\n'),
    Buffer.from('good 4 😀\n'),
  ]);
  const EXPECTED: Event[] = [
    { line: 'good 1\n' },
    { reject: 'invalid UTF-8' },
    { line: 'good 2 ü\r\n' },
    { reject: 'NUL byte' },
    { line: 'good 3 漢字\n' },
    { reject: 'invalid UTF-8' },
    { reject: 'invalid UTF-8' },
    { reject: 'invalid UTF-8' },
    { reject: 'NUL byte' },
    { line: 'good 4 😀\n' },
  ];

  it('rejects the bad lines with their reason while the good lines of the same chunk come through, in order', () => {
    const r = new Recorder(1000).push(MIXED);
    expect(r.events).toEqual(EXPECTED);
    expect(r.framer.offset).toBe(MIXED.length);
    r.end();
    expect(r.events).toEqual(EXPECTED);
  });

  it('gives the same verdicts for every split position', () => {
    for (let cut = 0; cut <= MIXED.length; cut++) {
      const r = new Recorder(1000);
      for (const chunk of splitAt(MIXED, [cut])) r.push(chunk);
      r.end();
      expect(r.events, `cut at ${cut}`).toEqual(EXPECTED);
      expect(r.framer.offset).toBe(MIXED.length);
    }
  });

  it('rejects a final line cut inside a multi-byte character at end of input', () => {
    const r = new Recorder(1000).push(Buffer.from('fine\n')).push(Buffer.from([0x61, 0xe6, 0xbc]));
    expect(r.events).toEqual([{ line: 'fine\n' }]);
    r.end();
    expect(r.events).toEqual([{ line: 'fine\n' }, { reject: 'invalid UTF-8' }]);
    expect(r.framer.offset).toBe(8);
  });

  it('rejects a final line holding a NUL byte at end of input', () => {
    const r = new Recorder(1000).push(Buffer.from('fine\nnul\u0000')).end();
    expect(r.events).toEqual([{ line: 'fine\n' }, { reject: 'NUL byte' }]);
  });

  it('accepts control characters other than NUL, and every valid code point length', () => {
    const text = 'bell\u0007 esc\u001b del\u007f\n' + 'a é 漢 😀 \u{10ffff}\n';
    const r = new Recorder(1000).push(Buffer.from(text)).end();
    expect(r.rejects).toEqual([]);
    expect(r.lines).toEqual(splitLines(text));
  });
});
