import { open, realpath, stat } from 'node:fs/promises';
import { RuntimeFailure, UsageError } from '../errors.js';
import type { Source } from './source.js';

const CHUNK_BYTES = 1 << 20;

/**
 * A regular file. Its default id is its real path plus device and inode, so
 * a rerun over the same file resumes while a new file at that path is new.
 */
export async function openFileSource(path: string, sourceOverride: string | null): Promise<Source> {
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
  return {
    id: sourceOverride ?? `file:${real}#${identity}`,
    label: path,
    kind: 'file',
    // FIFOs and devices are not replayable: never skip their bytes.
    resumable: size >= 0 || sourceOverride !== null,
    size: size >= 0 ? size : null,
    stop() {
      stopped = true;
    },
    async *read(offset: number) {
      const handle = await open(real, 'r').catch((err: NodeJS.ErrnoException) => {
        throw new RuntimeFailure(`${path}: ${err.message}`, { cause: err });
      });
      try {
        // One buffer, reused: consumers handle each chunk synchronously before asking for the next.
        const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
        let position = offset;
        while (!stopped) {
          const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, size >= 0 ? position : null);
          if (bytesRead === 0) return;
          position += bytesRead;
          yield buffer.subarray(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    },
  };
}
