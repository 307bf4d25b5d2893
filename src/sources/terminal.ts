import { fstatSync, statSync } from 'node:fs';
import { isatty } from 'node:tty';

let devNull: number | null | undefined;

/**
 * Whether `fd` is a terminal. node:tty (which loads node:net and node:stream,
 * ~4 ms of a short run's start) is asked only about character devices other
 * than /dev/null: a pipe, socket or file is told apart by fstat alone.
 */
export function isTerminal(fd: number): boolean {
  let rdev: number;
  try {
    const st = fstatSync(fd);
    if (!st.isCharacterDevice()) return false;
    rdev = st.rdev;
  } catch {
    return false;
  }
  if (devNull === undefined) {
    try {
      devNull = statSync('/dev/null').rdev;
    } catch {
      devNull = null;
    }
  }
  return rdev !== devNull && isatty(fd);
}
