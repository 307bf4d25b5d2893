import { constants } from 'node:fs';
import { access, open, realpath, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { RuntimeFailure, UsageError } from '../errors.js';
import { gunzip, isGzip } from './gzip.js';
import { READ_CHUNK_BYTES, type Source } from './source.js';

const FOLLOW_POLL_MS = 200;

/**
 * A regular file. Its default id is its real path plus device and inode, so
 * a rerun over the same file resumes while a new file at that path is new.
 * Followed (`--follow`, like tail -F), the id is the path alone, because the
 * file at that path is replaced on rotation; the identity then tells a
 * resumed run whether its committed offset still applies.
 *
 * A file that starts with gzip's magic is read as its text (like zcat), and
 * its offsets count bytes of text.
 */
export async function openFileSource(path: string, sourceOverride: string | null, follow = false): Promise<Source> {
  let real: string;
  let size: number;
  let identity: string;
  try {
    real = await realpath(path).catch(async (err: NodeJS.ErrnoException) => {
      // A shell's <(...) is /dev/fd/N, a link to "pipe:[N]" that realpath cannot follow but open can.
      if (err.code === 'ENOENT' && (await stat(path).catch(() => null)) !== null) return path;
      throw err;
    });
    const st = await stat(real);
    if (st.isDirectory()) throw new UsageError(`${path} is a directory; give a file`);
    // Said before anything is read, like a missing file, not after the inputs before it were counted.
    await access(real, constants.R_OK);
    size = st.isFile() ? st.size : -1;
    identity = `${st.dev}:${st.ino}`;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${path}: no such file`);
    if (code === 'EACCES') throw new UsageError(`${path}: permission denied`);
    throw new RuntimeFailure(`${path}: ${(err as Error).message}`, { cause: err });
  }
  let stopped = false;
  let wake: (() => void) | null = null;
  const regular = size >= 0;
  // One look at a regular file's first bytes (a FIFO's first read tells instead).
  const compressed = regular && size >= 2 && (await startsWithGzip(real));
  if (compressed && follow) {
    throw new UsageError(`${path} is gzip-compressed; --follow reads growing text files only (drop --follow to read it)`);
  }
  return {
    id: sourceOverride ?? (follow ? `file:${real}` : `file:${real}#${identity}`),
    label: path,
    kind: 'file',
    // FIFOs and devices are not replayable: never skip their bytes.
    resumable: regular || sourceOverride !== null,
    // A compressed file's text has no known length.
    size: regular && !follow && !compressed ? size : null,
    compressed,
    identity,
    stop() {
      stopped = true;
      wake?.();
    },
    async *read(offset: number, onRestart?: (identity: string) => void) {
      if (compressed) {
        yield* gunzipFile(real, path, offset, () => stopped, () => onRestart?.(identity));
        return;
      }
      let handle = await openHandle(real, path);
      let current = identity;
      try {
        // One buffer, reused: consumers handle each chunk synchronously before asking for the next.
        const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
        let position = offset;
        if (!regular) {
          const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK_BYTES, null);
          const first = buffer.subarray(0, bytesRead);
          if (isGzip(first)) {
            const next = () => readPiece(handle, buffer, null, () => stopped);
            yield* gunzip(next, offset, path, () => stopped, first);
            return;
          }
          position += bytesRead;
          if (bytesRead > 0) yield first;
          else if (!follow) return;
        }
        while (!stopped) {
          const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK_BYTES, regular ? position : null);
          if (bytesRead > 0) {
            position += bytesRead;
            yield buffer.subarray(0, bytesRead);
            continue;
          }
          if (!follow) return;
          // At the end of a followed file: wait for growth, a rotation or a truncation.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, FOLLOW_POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
          if (stopped) return;
          const now = await stat(real).catch(() => null);
          if (now === null) continue; // rotated away, the new file not there yet
          const nowIdentity = `${now.dev}:${now.ino}`;
          if (nowIdentity !== current) {
            // Rotation: lines may have reached the old file since the last read; finish it first
            // (as tail -F does), then go on with the new one from its start.
            for (;;) {
              const rest = await handle.read(buffer, 0, READ_CHUNK_BYTES, position);
              if (rest.bytesRead === 0) break;
              position += rest.bytesRead;
              yield buffer.subarray(0, rest.bytesRead);
            }
            await handle.close();
            handle = await openHandle(real, path);
            current = nowIdentity;
            position = 0;
            onRestart?.(current);
          } else if (now.size < position) {
            // Truncated in place: its new content starts at 0.
            position = 0;
            onRestart?.(current);
          }
        }
      } finally {
        await handle.close();
      }
    },
  };
}

/** Whether the file starts with gzip's magic; a file that cannot be read is left to read() to report. */
async function startsWithGzip(real: string): Promise<boolean> {
  const head = Buffer.alloc(2);
  try {
    const handle = await open(real, 'r');
    try {
      await handle.read(head, 0, 2, 0);
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
  return isGzip(head);
}

/**
 * A gzip file's text from text byte `offset` on. If its text turned out
 * shorter than `offset` (rewritten in place since), `onRestart` is told and
 * the text is read from its start, as a truncated plain file is.
 */
async function* gunzipFile(
  real: string,
  path: string,
  offset: number,
  stopped: () => boolean,
  onRestart: () => void,
): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  for (let from = offset; ; from = 0) {
    const handle = await openHandle(real, path);
    try {
      let position = 0;
      const next = async () => {
        const piece = await readPiece(handle, buffer, position, stopped);
        position += piece?.length ?? 0;
        return piece;
      };
      const length = yield* gunzip(next, from, path, stopped);
      if (length >= from || stopped()) return;
    } finally {
      await handle.close();
    }
    onRestart();
  }
}

/** The next piece of a file into `buffer` (at `position`; null: where it is); null at its end or after a stop. */
async function readPiece(
  handle: FileHandle,
  buffer: Buffer,
  position: number | null,
  stopped: () => boolean,
): Promise<Buffer | null> {
  if (stopped()) return null;
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
  return bytesRead === 0 ? null : buffer.subarray(0, bytesRead);
}

async function openHandle(real: string, path: string): Promise<FileHandle> {
  return open(real, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new RuntimeFailure(`${path}: ${err.message}`, { cause: err });
  });
}
