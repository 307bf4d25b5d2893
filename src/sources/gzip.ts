import { createGunzip } from 'node:zlib';
import { UsageError } from '../errors.js';

/** Whether bytes start with gzip's magic number (1f 8b), as zcat and rg -z tell compressed input. */
export function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Output pieces of zlib: large enough that per-chunk work stays small next to decompressing. */
const TEXT_CHUNK_BYTES = 1 << 18;

/**
 * The text of gzip data, from text byte `offset` on (a resume skips what was
 * committed; gzip cannot seek, so it decompresses up to there). `next`
 * returns the compressed bytes piece by piece, null at the end or after a
 * stop (`stopped` tells which), and may reuse one buffer: each piece is taken
 * in by zlib before the next is asked for, and zlib waits while its text is
 * not read, so memory stays bounded. Concatenated members (cat a.gz b.gz)
 * read as one text. Corrupt or truncated data throws a UsageError naming
 * `label`, after the text before it. Returns the text's length in bytes.
 */
export async function* gunzip(
  next: () => Promise<Buffer | null>,
  offset: number,
  label: string,
  stopped: () => boolean,
  first: Buffer | null = null,
): AsyncGenerator<Buffer, number> {
  const inflate = createGunzip({ chunkSize: TEXT_CHUNK_BYTES });
  // A failure to read the compressed bytes is the source's to report, not bad data.
  let readFailure: unknown = null;
  const read = () =>
    next().catch((err: unknown) => {
      readFailure = err;
      throw err;
    });
  const feed = async () => {
    for (let piece = first ?? (await read()); piece !== null; piece = await read()) {
      await new Promise<void>((taken, failed) => inflate.write(piece, (err) => (err ? failed(err) : taken())));
    }
    inflate.end();
  };
  feed().catch((err: unknown) => inflate.destroy(err as Error));
  let length = 0;
  try {
    for await (const text of inflate as AsyncIterable<Buffer>) {
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
    inflate.destroy();
  }
  return length;
}
