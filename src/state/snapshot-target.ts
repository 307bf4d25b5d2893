import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { cannotWrite } from '../errors.js';

/** Where an exported snapshot's bytes go: a file named by the user, or a writer such as stdout. */
export type Write = (chunk: Buffer) => Promise<void>;
export type WriteAll = (write: Write) => Promise<void>;

export interface Target {
  /** The file named by the user; null for a writer such as stdout (its failures are its own). */
  readonly path: string | null;
  /** Where the export's temporary database goes: beside a regular file, else the temporary directory. */
  readonly workDir: string;
  fill(writeAll: WriteAll): Promise<void>;
  /** Closes and removes what was not completed; a no-op after fill succeeded. */
  discard(): void;
}

export function writerTarget(write: Write): Target {
  return { path: null, workDir: tmpdir(), fill: (writeAll) => writeAll(write), discard: () => undefined };
}

/**
 * A snapshot file to write. A regular file appears only complete: a temporary
 * file beside it, fsync, rename. A FIFO or a device is written straight into
 * (a rename would replace it). Every failure names `path` and its cause.
 */
export function openTarget(path: string): Target {
  const direct = !isRegularOrAbsent(path);
  const file = direct ? path : `${path}.partial-${process.pid}`;
  const fd = asWriteOf(path, () => openSync(file, 'w'));
  let open = true;
  let done = false;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    path,
    workDir: direct ? tmpdir() : dirname(path),
    fill: async (writeAll) => {
      await writeAll(async (chunk) => {
        asWriteOf(path, () => writeSync(fd, chunk));
      });
      asWriteOf(path, () => {
        if (!direct) fsyncSync(fd);
        close();
        if (!direct) renameSync(file, path);
      });
      done = true;
    },
    discard: () => {
      close();
      if (!direct && !done) rmSync(file, { force: true });
    },
  };
}

/** Runs one step of writing `path`; a failure becomes the typed error naming the path and its cause. */
function asWriteOf<T>(path: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    throw cannotWrite(path, err);
  }
}

function isRegularOrAbsent(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return true;
  }
}
