import { fstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { isPostgresUrl } from '../state/open.js';

/** A file the command will open for writing, and the option that named it (for the message). */
export interface OutputTarget {
  readonly option: string;
  readonly path: string | null;
}

/**
 * Refuses (exit 2) an output that is one of the inputs or the database: opening
 * it for writing would empty it before it is read, as `sort -o` is careful to
 * avoid. Files are compared by identity (device and inode when they exist, the
 * real path otherwise), so `in.txt`, `./in.txt`, a symlink and a hard link all
 * match; an input '-' is the file stdin is redirected from, if any. Call it
 * before anything is opened for writing.
 */
export function refuseOutputsOverInputs(
  outputs: readonly OutputTarget[],
  inputs: readonly string[],
  db: string | null,
): void {
  const protectedFiles: Array<{ path: string; what: string }> = inputs.map((path) =>
    path === '-' ? { path, what: 'stdin, one of the inputs' } : { path, what: 'one of the inputs' },
  );
  // A PostgreSQL URL names no file here.
  if (db !== null && !isPostgresUrl(db)) {
    protectedFiles.push({ path: db, what: 'the database (--db)' });
    for (const suffix of ['-wal', '-shm']) protectedFiles.push({ path: db + suffix, what: `the database's ${suffix} file` });
  }
  for (const { option, path } of outputs) {
    if (path === null) continue;
    const out = identity(path);
    // A FIFO or a device is written into, never emptied (/dev/null may be input and output).
    if (out === null) continue;
    const hit = protectedFiles.find((p) => identity(p.path) === out);
    if (hit !== undefined) {
      throw new UsageError(`${option} ${path} is ${hit.what}; writing it would destroy it (give another file)`);
    }
  }
}

/**
 * device:inode of an existing regular file (for '-', the file stdin is
 * redirected from), else its real path; null for anything that is not a regular file.
 */
function identity(path: string): string | null {
  try {
    const st = path === '-' ? fstatSync(0) : statSync(path);
    return st.isFile() ? `${st.dev}:${st.ino}` : null;
  } catch {
    if (path === '-') return null;
    // Not there (yet): the same name reached through another spelling or a symlinked directory.
    try {
      return join(realpathSync(dirname(resolve(path))), basename(path));
    } catch {
      return resolve(path);
    }
  }
}
