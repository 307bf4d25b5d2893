import { open, realpath, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { RuntimeFailure, UsageError } from '../errors.js';
import type { Source } from './source.js';

const CHUNK_BYTES = 1 << 20;
const FOLLOW_POLL_MS = 200;

/**
 * A regular file. Its default id is its real path plus device and inode, so
 * a rerun over the same file resumes while a new file at that path is new.
 * Followed (`--follow`, like tail -F), the id is the path alone, because the
 * file at that path is replaced on rotation; the identity then tells a
 * resumed run whether its committed offset still applies.
 */
export async function openFileSource(path: string, sourceOverride: string | null, follow = false): Promise<Source> {
  let real: string;
  let size: number;
  let identity: string;
  try {
    real = await realpath(path);
    const st = await stat(real);
    if (st.isDirectory()) throw new UsageError(`${path} is a directory; give a file`);
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
  return {
    id: sourceOverride ?? (follow ? `file:${real}` : `file:${real}#${identity}`),
    label: path,
    kind: 'file',
    // FIFOs and devices are not replayable: never skip their bytes.
    resumable: regular || sourceOverride !== null,
    size: regular && !follow ? size : null,
    identity,
    stop() {
      stopped = true;
      wake?.();
    },
    async *read(offset: number, onRestart?: (identity: string) => void) {
      let handle = await openHandle(real, path);
      let current = identity;
      try {
        // One buffer, reused: consumers handle each chunk synchronously before asking for the next.
        const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
        let position = offset;
        while (!stopped) {
          const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, regular ? position : null);
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
              const rest = await handle.read(buffer, 0, CHUNK_BYTES, position);
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

async function openHandle(real: string, path: string): Promise<FileHandle> {
  return open(real, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new RuntimeFailure(`${path}: ${err.message}`, { cause: err });
  });
}
