/**
 * Typed errors carrying their exit code. The core throws these; only
 * src/cli/main.ts prints them and turns them into a process exit code.
 */
export class StatesyncError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad flags, bad option values, job mismatch, corrupt input files: exit 2. */
export class UsageError extends StatesyncError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** I/O or database failures at run time: exit 1. */
export class RuntimeFailure extends StatesyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 1);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** This worker was declared dead by the others (paused past --worker-timeout); it must not write as itself. */
export class FencedError extends StatesyncError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** A batch whose source offset no longer matches the database: another run applied it already. */
export class StaleBatchError extends StatesyncError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** What the operating system said, in words a user reads ("read-only file system"), for one-line errors. */
const CAUSES: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
};

export function describeCause(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code === 'string' && CAUSES[code] !== undefined) return CAUSES[code];
  const message = err instanceof Error ? err.message : String(err);
  // Node's messages read "EROFS: read-only file system, open '/x'": keep the words, drop code and path.
  return message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '.*'$/, '');
}

/** Causes that mean the path named cannot be a file to write (a missing directory, a file or directory in the way). */
const PATH_MISTAKES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ENAMETOOLONG', 'ELOOP']);

/**
 * A failure to create or write `path` as one typed line. A path that cannot
 * name a file is the caller's mistake (exit 2); a refusal of the system (read-only
 * file system, permission denied, disk full, I/O error) is a runtime failure (exit 1).
 */
export function cannotWrite(path: string, err: unknown): StatesyncError {
  if (err instanceof StatesyncError) return err;
  const message = `cannot write ${path}: ${describeCause(err)}`;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && PATH_MISTAKES.has(code) ? new UsageError(message) : new RuntimeFailure(message, { cause: err });
}
