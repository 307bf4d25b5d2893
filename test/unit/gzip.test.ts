// The gzip reader: pieces handed over in one reused buffer, text from an offset on,
// concatenated members, and damage told apart from a stop.
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { gunzip, isGzip } from '../../src/sources/gzip.js';
import { seededRandom } from '../support/prng.js';

/** `data` in pieces of 1..maxPiece bytes, every one copied into the same buffer (as the sources read). */
function piecesOf(data: Buffer, maxPiece: number, seed: number) {
  const shared = Buffer.alloc(maxPiece);
  const random = seededRandom(seed);
  let at = 0;
  return async (): Promise<Buffer | null> => {
    if (at >= data.length) return null;
    const n = Math.min(data.length - at, 1 + Math.floor(random() * maxPiece));
    data.copy(shared, 0, at, at + n);
    at += n;
    // Let zlib's thread run now and then, so a piece it still held would be overwritten.
    if (random() < 0.5) await new Promise((done) => setImmediate(done));
    return shared.subarray(0, n);
  };
}

/** The text a reader gave until it failed, and the failure (null if it ended). */
async function textUntilFailure(gen: AsyncGenerator<Buffer, number>): Promise<{ text: Buffer; failure: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const piece of gen) parts.push(Buffer.from(piece));
    return { text: Buffer.concat(parts), failure: null };
  } catch (failure) {
    return { text: Buffer.concat(parts), failure };
  }
}

async function textOf(gen: AsyncGenerator<Buffer, number>): Promise<{ text: Buffer; length: number }> {
  const parts: Buffer[] = [];
  for (;;) {
    const step = await gen.next();
    if (step.done === true) return { text: Buffer.concat(parts), length: step.value };
    parts.push(Buffer.from(step.value));
  }
}

function sampleText(bytes: number): Buffer {
  const random = seededRandom(7);
  let text = '';
  while (text.length < bytes) text += `w${Math.floor(random() * 5000)}${random() < 0.2 ? '\n' : ' '}`;
  return Buffer.from(text);
}

describe('gunzip', () => {
  const text = sampleText(600_000);
  const gz = Buffer.concat([gzipSync(text.subarray(0, 250_000)), gzipSync(text.subarray(250_000))]);

  it('tells gzip by its magic', () => {
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(Buffer.from([0x1f]))).toBe(false);
    expect(isGzip(text)).toBe(false);
  });

  it('decompresses pieces from one reused buffer, members as one text, from an offset on', async () => {
    for (const offset of [0, 1, 65_536, 250_000, 400_001, text.length, text.length + 10]) {
      const { text: out, length } = await textOf(gunzip(piecesOf(gz, 4096, offset), offset, 'f.gz', () => false));
      expect(length).toBe(text.length);
      expect(out.equals(text.subarray(Math.min(offset, text.length))), `from ${offset}`).toBe(true);
    }
  });

  it('damage: the text before it, then a UsageError naming the file', async () => {
    const truncated = gz.subarray(0, gz.length - 5000);
    const { text: out, failure } = await textUntilFailure(gunzip(piecesOf(truncated, 1000, 3), 0, 'f.gz', () => false));
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toBe(
      'f.gz: truncated or corrupt gzip data (unexpected end of file); the lines before it were counted',
    );
    expect(out.length).toBeGreaterThan(250_000);
    expect(out.equals(text.subarray(0, out.length))).toBe(true);
  });

  it('trailing garbage: all the text of the members before it, then a UsageError', async () => {
    for (const [seed, maxPiece] of [[6, 100_000], [7, 1000]] as const) {
      const { text: out, failure } = await textUntilFailure(
        gunzip(piecesOf(Buffer.concat([gz, Buffer.from('garbage')]), maxPiece, seed), 0, 'f.gz', () => false),
      );
      expect((failure as Error).message).toBe('f.gz: truncated or corrupt gzip data (incorrect header check); the lines before it were counted');
      expect(out.equals(text), `pieces up to ${maxPiece} bytes`).toBe(true);
    }
  });

  it('reads every header field gzip may write (extra, name, comment, header CRC checked), and zero padding after the last member', async () => {
    const body = deflateRawSync(text);
    const extra = Buffer.from('AB\x02\x00xy', 'latin1');
    const fields = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3, extra.length, 0]),
      extra,
      Buffer.from('name.txt\0a comment\0', 'latin1'),
    ]);
    const headerCrc = Buffer.alloc(2);
    headerCrc.writeUInt16LE(crc32(fields) & 0xffff);
    const head = Buffer.concat([fields, headerCrc]);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(text), 0);
    trailer.writeUInt32LE(text.length, 4);
    const member = Buffer.concat([head, body, trailer]);
    const { text: out } = await textOf(gunzip(piecesOf(Buffer.concat([member, member, Buffer.alloc(50)]), 700, 8), 0, 'f.gz', () => false));
    expect(out.equals(Buffer.concat([text, text]))).toBe(true);

    // A wrong header CRC, reserved flags or a header without end are damage, before any text.
    const badHeaderCrc = Buffer.from(member);
    badHeaderCrc[fields.length] ^= 1;
    const reserved = Buffer.from(member);
    reserved[3] |= 0x20;
    const endless = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3]), Buffer.alloc(100_000, 0x41)]);
    for (const [data, why] of [[badHeaderCrc, 'header crc mismatch'], [reserved, 'unknown header flags set'], [endless, 'header too long']] as const) {
      const { text: out, failure } = await textUntilFailure(gunzip(piecesOf(data, 5000, 10), 0, 'f.gz', () => false));
      expect((failure as Error).message).toBe(`f.gz: truncated or corrupt gzip data (${why}); the lines before it were counted`);
      expect(out.length).toBe(0);
    }

    // A wrong CRC or size is damage, after the text.
    const badCrc = Buffer.from(member);
    badCrc.writeUInt32LE((crc32(text) + 1) >>> 0, member.length - 8);
    const badSize = Buffer.from(member);
    badSize.writeUInt32LE(text.length + 1, member.length - 4);
    for (const [data, why] of [[badCrc, 'incorrect data check'], [badSize, 'incorrect length check']] as const) {
      const { text: out, failure } = await textUntilFailure(gunzip(piecesOf(data, 5000, 9), 0, 'f.gz', () => false));
      expect((failure as Error).message).toBe(`f.gz: truncated or corrupt gzip data (${why}); the lines before it were counted`);
      expect(out.equals(text)).toBe(true);
    }
  });

  it('many small members (gzip >> log.gz), in large pieces and in small ones: the same text', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}\n`);
    const many = Buffer.concat(lines.map((line) => gzipSync(line)));
    for (const [maxPiece, seed] of [[1 << 20, 11], [700, 12], [1, 13]] as const) {
      const { text: out } = await textOf(gunzip(piecesOf(many, maxPiece, seed), 0, 'log.gz', () => false));
      expect(out.toString(), `pieces up to ${maxPiece} bytes`).toBe(lines.join(''));
    }
  });

  it('a stop part way is no damage: it just ends', async () => {
    let stopped = false;
    let calls = 0;
    const next = piecesOf(gz, 1000, 4);
    const stopAfterFive = () => {
      stopped ||= ++calls > 5;
      return stopped ? Promise.resolve(null) : next();
    };
    const { text: out } = await textOf(gunzip(stopAfterFive, 0, 'f.gz', () => stopped));
    expect(out.equals(text.subarray(0, out.length))).toBe(true);
  });

  it('a failure to read the compressed bytes is passed on as it is', async () => {
    const broken = new Error('EIO: i/o error, read');
    let calls = 0;
    const next = piecesOf(gz, 1000, 5);
    const { failure } = await textUntilFailure(gunzip(async () => (++calls > 3 ? Promise.reject(broken) : next()), 0, 'f.gz', () => false));
    expect(failure).toBe(broken);
  });
});
