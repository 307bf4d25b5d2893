import { closeSync, constants, fstatSync, openSync, read, readSync } from 'node:fs';
import { Socket } from 'node:net';
import { ReadStream } from 'node:tty';
import { UsageError } from '../errors.js';
import { gunzip, isGzip } from './gzip.js';
import { READ_CHUNK_BYTES, type Source } from './source.js';
import { isTerminal } from './terminal.js';

const STDIN_FD = 0;
/** Reads of a pipe made before the socket takes over: an input whole before the run began needs two (its bytes, its end). */
const DIRECT_READS = 2;

/**
 * Standard input. Without --source it is not replayable, so it gets a fresh id
 * per run; with --source the user declares it a replay of the same stream, and
 * a rerun skips the bytes already committed.
 *
 * Every read lands in one reused buffer (process.stdin allocates a fresh
 * chunk per read, which left peak memory at the garbage collector's mercy
 * under load): a regular file is read with fs.read, a pipe or socket through
 * a socket with `onread`, paused while a chunk is being handled (after what a
 * pipe already holds: see pipeReader). A terminal
 * is read line by line as typed, until Ctrl-D (as awk and wc do). Other
 * input that starts with gzip's magic is read as its text, like zcat.
 */
export function stdinSource(sourceOverride: string | null, runId: string): Source {
  if (isDirectory()) throw new UsageError('stdin is a directory; redirect a file into it, or pipe text in');
  let stopped = false;
  let wake: (() => void) | null = null;
  const stopSignal = new Promise<null>((resolve) => {
    wake = () => resolve(null);
  });
  return {
    id: sourceOverride ?? `stdin:${runId}`,
    label: 'stdin',
    kind: 'stdin',
    resumable: sourceOverride !== null,
    size: null,
    compressed: false,
    identity: null,
    stop() {
      stopped = true;
      wake?.();
    },
    async *read(offset: number) {
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      const regularFile = isRegularFile();
      const typed = !regularFile && isTerminal(STDIN_FD);
      const reader = regularFile ? fileReader(buffer) : typed ? terminalReader(buffer) : pipeReader(buffer);
      let ended = false;
      const next = async (): Promise<Buffer | null> => {
        if (ended) return null;
        // A read pending on a quiet pipe must not hold up a stop.
        const bytesRead = await Promise.race([reader.next(), stopSignal]);
        ended = bytesRead === null || bytesRead === 0 || stopped;
        return ended ? null : buffer.subarray(0, bytesRead as number);
      };
      try {
        let chunk = await next();
        if (chunk === null) return;
        if (!typed) {
          // gzip is told by its first two bytes (as zcat does); a first read may bring only one.
          if (chunk.length === 1 && chunk[0] === 0x1f) {
            const held = Buffer.from(chunk);
            const more = await next();
            chunk = more === null ? held : Buffer.concat([held, more]);
          }
          if (isGzip(chunk)) {
            yield* gunzip(next, offset, 'stdin', () => stopped, chunk);
            return;
          }
        }
        let toSkip = offset;
        for (; chunk !== null; chunk = await next()) {
          if (toSkip >= chunk.length) {
            toSkip -= chunk.length;
            continue;
          }
          yield toSkip === 0 ? chunk : chunk.subarray(toSkip);
          toSkip = 0;
        }
      } finally {
        reader.close();
      }
    },
  };
}

interface ChunkReader {
  /** Fills the shared buffer; resolves to the bytes read, 0 at end of input. */
  next(): Promise<number>;
  close(): void;
}

function isDirectory(): boolean {
  try {
    return fstatSync(STDIN_FD).isDirectory();
  } catch {
    return false;
  }
}

function isRegularFile(): boolean {
  try {
    return fstatSync(STDIN_FD).isFile();
  } catch {
    return false;
  }
}

function fileReader(buffer: Buffer): ChunkReader {
  return {
    next: () =>
      new Promise((resolve, reject) =>
        read(STDIN_FD, buffer, 0, buffer.length, null, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead))),
      ),
    close: () => undefined,
  };
}

/**
 * A pipe or socket: read through a socket (epoll), never by a pool thread, since
 * a read blocked there on a quiet pipe would hold up process.exit after a stop
 * until the pipe's writer wrote or closed. But first, what a pipe already holds
 * is read without waiting, through a second, non-blocking open of it (Linux:
 * /proc/self/fd/0; fd 0's own flags stay as they are): an input that is already
 * complete (`echo a |`) is then read without loading node:net and node:stream,
 * ~5 ms of such a run's start. At the first read that would wait, or after
 * DIRECT_READS, the socket takes over: its reads come through the event loop,
 * which a run of synchronous reads would starve of timers and signals. Where
 * that open fails (a socket, no /proc), the socket reads all.
 */
function pipeReader(buffer: Buffer): ChunkReader {
  let direct = openNonBlocking();
  let directReads = 0;
  let socket: ChunkReader | null = null;
  const stopDirect = () => {
    if (direct !== null) closeSync(direct);
    direct = null;
  };
  return {
    next() {
      if (direct !== null && directReads === DIRECT_READS) stopDirect();
      if (direct !== null) {
        try {
          const bytesRead = readSync(direct, buffer, 0, buffer.length, null);
          directReads++;
          if (bytesRead === 0) stopDirect();
          return Promise.resolve(bytesRead);
        } catch {
          // EAGAIN: nothing to read yet; the socket waits for it. Any other error is the socket's to meet.
          stopDirect();
        }
      }
      socket ??= streamReader(buffer);
      return socket.next();
    },
    close() {
      stopDirect();
      socket?.close();
    },
  };
}

function openNonBlocking(): number | null {
  try {
    return openSync(`/proc/self/fd/${STDIN_FD}`, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
}

function streamReader(buffer: Buffer): ChunkReader {
  let waiting: { resolve: (n: number) => void; reject: (e: Error) => void } | null = null;
  let ready: number | null = null;
  let failure: Error | null = null;
  let socket: Socket;
  const deliver = (n: number) => {
    if (waiting !== null) {
      const w = waiting;
      waiting = null;
      w.resolve(n);
    } else {
      ready = n;
    }
  };
  try {
    socket = new Socket({
      fd: STDIN_FD,
      readable: true,
      writable: false,
      onread: {
        buffer,
        callback: (nread: number) => {
          // Hold further reads until this chunk has been handled: the buffer is shared.
          socket.pause();
          deliver(nread);
          return false;
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    // No usable stdin (closed, or not a stream): empty input.
    return { next: () => Promise.resolve(0), close: () => undefined };
  }
  socket.pause();
  socket.on('end', () => deliver(0));
  socket.on('error', (err) => {
    failure = err;
    if (waiting !== null) waiting.reject(err);
  });
  return {
    next() {
      if (failure !== null) return Promise.reject(failure);
      if (ready !== null) {
        const n = ready;
        ready = null;
        return Promise.resolve(n);
      }
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        socket.resume();
      });
    },
    close() {
      socket.destroy();
    },
  };
}

/**
 * A terminal (a socket cannot take a TTY's fd). Its line discipline hands
 * over each typed line, and Ctrl-D at the start of a line ends input. Each
 * piece (at most 64 KiB, a paste included) is copied into the shared buffer.
 */
function terminalReader(buffer: Buffer): ChunkReader {
  const terminal = new ReadStream(STDIN_FD);
  let waiting: { resolve: (n: number) => void; reject: (e: Error) => void } | null = null;
  let ended = false;
  let failure: Error | null = null;
  terminal.pause();
  terminal.on('data', (chunk: Buffer) => {
    terminal.pause();
    const w = waiting;
    waiting = null;
    w?.resolve(chunk.copy(buffer));
  });
  terminal.on('end', () => {
    ended = true;
    waiting?.resolve(0);
  });
  terminal.on('error', (err) => {
    failure = err;
    waiting?.reject(err);
  });
  return {
    next() {
      if (failure !== null) return Promise.reject(failure);
      if (ended) return Promise.resolve(0);
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        terminal.resume();
      });
    },
    close() {
      terminal.destroy();
    },
  };
}
