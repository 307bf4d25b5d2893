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
