import * as zlib from 'node:zlib';
import { constants, createInflateRaw, inflateRawSync, type InflateRaw } from 'node:zlib';
import { UsageError } from '../errors.js';

/** Whether bytes start with gzip's magic number (1f 8b), as zcat and rg -z tell compressed input. */
export function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Output pieces of zlib: large enough that per-chunk work stays small next to decompressing. */
const TEXT_CHUNK_BYTES = 1 << 18;
/**
 * Compressed bytes given to zlib at a time: all of one write's text is held until it is read, and
 * deflate expands at most ~1032 times, so this bounds memory (~64 MiB) whatever the data.
 */
const WRITE_BYTES = 1 << 16;
const TRAILER_BYTES = 8;
/** Longer than any header gzip writes (its name and comment fields end with a NUL): damage, not a header. */
const MAX_HEADER_BYTES = 1 << 16;
const EMPTY = Buffer.alloc(0);

/**
 * The text of gzip data, from text byte `offset` on (a resume skips what was
 * committed; gzip cannot seek, so it decompresses up to there). `next`
 * returns the compressed bytes piece by piece, null at the end or after a
 * stop (`stopped` tells which), and may reuse one buffer: each piece is taken
 * in before the next is asked for. Concatenated members (cat a.gz b.gz) read
 * as one text; zero bytes after a member are padding. Corrupt or truncated
 * data, trailing garbage too, throws a UsageError naming `label`, after the
 * text before it. Returns the text's length in bytes.
 *
 * The members are framed here (RFC 1952: header, deflate data, CRC and size)
 * and only their deflate data goes to zlib: zlib's own gunzip drops the text
 * of its last call when bytes after a member are not another member, and
 * those are lines a user expects counted. A member that lies whole in the
 * bytes at hand (a log of many small ones, `gzip >> log.gz`) is inflated at
 * once; a larger one goes through a stream, which flows and is never paused
 * (a paused stream that fails drops what it holds): backpressure is on the
 * writing side, the next bytes going to zlib once the text of the last ones
 * has been read.
 */
export async function* gunzip(
  next: () => Promise<Buffer | null>,
  offset: number,
  label: string,
  stopped: () => boolean,
  first: Buffer | null = null,
): AsyncGenerator<Buffer, number> {
  const texts: Buffer[] = [];
  let failure: Error | null = null;
  let ended = false;
  let closed = false;
  // Who waits: the reader for text, the feeder for the reader to take it.
  const waiting: { reader: (() => void) | null; feeder: (() => void) | null } = { reader: null, feeder: null };
  const fail = (err: Error) => {
    failure ??= err;
    waiting.reader?.();
  };
  // A failure to read the compressed bytes is the source's to report, not bad data.
  let readFailure: unknown = null;
  const read = () =>
    next().catch((err: unknown) => {
      readFailure = err;
      throw err;
    });
  let member: Member | null = null;
  const feed = async () => {
    const framing = new Framing();
    for (let piece = first ?? (await read()); piece !== null; piece = await read()) {
      let rest = piece;
      while (rest.length > 0 && !closed && failure === null) {
        if (member === null) {
          rest = framing.take(rest);
          if (!framing.bodyStarts) continue;
          while (texts.length > 0 && !closed && failure === null) await new Promise<void>((resolve) => (waiting.feeder = resolve));
          const whole = inflateWhole(rest.subarray(0, WRITE_BYTES));
          if (whole === null) {
            member = new Member(texts, () => waiting.reader?.(), fail);
          } else {
            if (whole.text.length > 0) texts.push(whole.text);
            waiting.reader?.();
            framing.bodyEnded(crc32(whole.text, 0), whole.text.length);
            rest = rest.subarray(whole.consumed);
          }
          continue;
        }
        while (texts.length > 0 && !closed && failure === null) await new Promise<void>((resolve) => (waiting.feeder = resolve));
        const slice = rest.subarray(0, WRITE_BYTES);
        const left = await member.inflate(slice);
        rest = rest.subarray(slice.length - left);
        if (left > 0) {
          // Its deflate data ended inside this slice: the trailer follows.
          await member.finished;
          framing.bodyEnded(member.crc, member.size);
          member = null;
        }
      }
      if (closed || failure !== null) return;
    }
    if (member !== null) {
      // The input ended inside deflate data (a stop, or a truncated file): zlib says which.
      await member.end();
      framing.bodyEnded(member.crc, member.size);
    }
    framing.end();
    ended = true;
    waiting.reader?.();
  };
  feed().catch((err: unknown) => fail(err as Error));
  let length = 0;
  try {
    for (;;) {
      const text = texts.shift();
      if (text === undefined) {
        if (failure !== null) throw failure;
        if (ended) break;
        await new Promise<void>((resolve) => (waiting.reader = resolve));
        continue;
      }
      if (texts.length === 0) waiting.feeder?.();
      const from = length;
      length += text.length;
      if (length <= offset) continue;
      yield from >= offset ? text : text.subarray(offset - from);
    }
  } catch (err) {
    if (readFailure !== null) throw readFailure;
    if (stopped()) return length;
    throw new UsageError(
      `${label}: truncated or corrupt gzip data (${(err as Error).message}); the lines before it were counted`,
    );
  } finally {
    closed = true;
    (member as Member | null)?.destroy();
    waiting.feeder?.();
  }
  return length;
}

/**
 * The text of deflate data that ends inside `bytes`, and the bytes it took; null when it may not
 * end there (or is damaged: the stream then reads it and says so, after the text before the damage).
 */
function inflateWhole(bytes: Buffer): { text: Buffer; consumed: number } | null {
  try {
    const { buffer, engine } = inflateRawSync(bytes, { info: true, finishFlush: constants.Z_SYNC_FLUSH }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return engine.bytesWritten < bytes.length ? { text: buffer, consumed: engine.bytesWritten } : null;
  } catch {
    return null;
  }
}

/** zlib's CRC-32 (Node 20.15 and later), else the same computed here. */
const crc32: (data: Buffer, value: number) => number = typeof zlib.crc32 === 'function' ? zlib.crc32 : crc32Table;

let crcTable: Int32Array | null = null;

function crc32Table(data: Buffer, value: number): number {
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = ~value;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** One member's deflate data in zlib, its text going to `texts` as it comes, with its CRC and size. */
class Member {
  crc = 0;
  size = 0;
  /** Resolves once zlib has given all of the member's text; rejects if it failed. */
  readonly finished: Promise<void>;
  private readonly zlib: InflateRaw = createInflateRaw({ chunkSize: TEXT_CHUNK_BYTES });

  constructor(texts: Buffer[], wake: () => void, fail: (err: Error) => void) {
    this.zlib.on('data', (text: Buffer) => {
      this.crc = crc32(text, this.crc);
      this.size = (this.size + text.length) >>> 0;
      texts.push(text);
      wake();
    });
    this.zlib.on('error', fail);
    this.finished = new Promise((resolve, reject) => {
      this.zlib.once('end', resolve);
      this.zlib.once('error', reject);
    });
    // The failure is told through `fail`; an awaiter still sees it.
    this.finished.catch(() => undefined);
  }

  /** Gives zlib `bytes`; resolves with how many it did not take because its deflate data ended before them. */
  async inflate(bytes: Buffer): Promise<number> {
    const before = this.zlib.bytesWritten;
    await new Promise<void>((taken, failed) => this.zlib.write(bytes, (err) => (err ? failed(err) : taken())));
    return bytes.length - (this.zlib.bytesWritten - before);
  }

  /** No more bytes: resolves once zlib has ended the text (it fails the run if the data was cut short). */
  end(): Promise<void> {
    this.zlib.end();
    return this.finished;
  }

  destroy(): void {
    this.zlib.destroy();
  }
}

const FHCRC = 2;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;

/**
 * The bytes around deflate data (RFC 1952): a member's header before it,
 * its CRC-32 and size after, zero padding after the last member. Errors say
 * what zlib's gunzip says of the same damage.
 */
class Framing {
  /** The header or trailer read so far (copied: the input's buffer is reused). */
  private held = EMPTY;
  private state: 'header' | 'trailer' | 'padding' = 'header';
  private members = 0;
  private expected: { crc: number; size: number } | null = null;
  /** Set by take() when a header is complete: the bytes it returned are deflate data. */
  bodyStarts = false;

  /** Takes what it needs of `bytes`; returns the rest (deflate data once bodyStarts). */
  take(bytes: Buffer): Buffer {
    this.bodyStarts = false;
    if (this.state === 'padding') {
      if (bytes.some((b) => b !== 0)) throw new Error('incorrect header check');
      return EMPTY;
    }
    if (this.state === 'header' && this.held.length === 0 && this.members > 0 && bytes[0] === 0) {
      this.state = 'padding';
      return this.take(bytes);
    }
    // Most headers and trailers lie whole in one piece: read them in place, and copy only a part.
    const data = this.held.length === 0 ? bytes : Buffer.concat([this.held, bytes]);
    this.held = EMPTY;
    if (this.state === 'trailer') {
      if (data.length < TRAILER_BYTES) return this.hold(data);
      const { crc, size } = this.expected!;
      if (data.readUInt32LE(0) !== crc) throw new Error('incorrect data check');
      if (data.readUInt32LE(4) !== size) throw new Error('incorrect length check');
      this.members++;
      this.state = 'header';
      return data.subarray(TRAILER_BYTES);
    }
    const length = headerLength(data);
    if (length === null) {
      if (data.length > MAX_HEADER_BYTES) throw new Error('header too long');
      return this.hold(data);
    }
    this.bodyStarts = true;
    this.state = 'trailer';
    return data.subarray(length);
  }

  /** The member's deflate data ended with this text: its trailer comes next. */
  bodyEnded(crc: number, size: number): void {
    this.expected = { crc: crc >>> 0, size };
  }

  /** The input ended: anywhere but between members is a cut. */
  end(): void {
    if (this.state === 'padding' || (this.state === 'header' && this.held.length === 0 && this.members > 0)) return;
    throw new Error('unexpected end of file');
  }

  /** Keeps the part of a header or trailer read so far (a copy: the input's buffer is reused). */
  private hold(data: Buffer): Buffer {
    this.held = Buffer.from(data);
    return EMPTY;
  }
}

/** The length of the gzip header `b` starts with; null while it holds too little of it. */
function headerLength(b: Buffer): number | null {
  if ((b.length >= 1 && b[0] !== 0x1f) || (b.length >= 2 && b[1] !== 0x8b)) throw new Error('incorrect header check');
  if (b.length >= 3 && b[2] !== 8) throw new Error('unknown compression method');
  if (b.length >= 4 && b[3]! & 0xe0) throw new Error('unknown header flags set');
  if (b.length < 10) return null;
  const flags = b[3]!;
  let at = 10;
  if (flags & FEXTRA) {
    if (b.length < at + 2) return null;
    at += 2 + b.readUInt16LE(at);
  }
  for (const field of [FNAME, FCOMMENT]) {
    if (!(flags & field)) continue;
    const end = b.indexOf(0, at);
    if (end < 0) return null;
    at = end + 1;
  }
  if (flags & FHCRC) {
    if (b.length < at + 2) return null;
    if ((crc32(b.subarray(0, at), 0) & 0xffff) !== b.readUInt16LE(at)) throw new Error('header crc mismatch');
    at += 2;
  }
  return b.length >= at ? at : null;
}
