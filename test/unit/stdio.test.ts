import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FdWriter } from '../../src/cli/stdio.js';
import { isTerminal } from '../../src/sources/terminal.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'statesync-stdio-'));
  dirs.push(dir);
  return join(dir, 'out');
}

/** A connected TCP pair; the client's fd is non-blocking (libuv's), so a full send buffer gives EAGAIN. */
async function socketPair(): Promise<{ client: Socket; server: Socket; close: () => void }> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = await new Promise<Socket>((resolve) => {
    const s = createConnection(port, '127.0.0.1', () => resolve(s));
  });
  const server = await accepted;
  server.pause();
  return { client, server, close: () => (client.destroy(), server.destroy(), listener.close()) };
}

describe('FdWriter', () => {
  it('writes strings and bytes to its descriptor, in order, at once', () => {
    const path = tempFile();
    const fd = openSync(path, 'w');
    const out = new FdWriter(fd);
    out.write('a\tb\n');
    out.write(Buffer.from('é😀\n'));
    expect(readFileSync(path, 'utf8')).toBe('a\tb\né😀\n');
    expect(out.close()).toBeNull();
    expect(() => closeSync(fd)).toThrow(/EBADF/);
  });

  it('keeps its first failure, tells each listener once after the write, and drops later writes', async () => {
    const path = tempFile();
    closeSync(openSync(path, 'w'));
    const fd = openSync(path, 'r');
    const out = new FdWriter(fd);
    const heard: string[] = [];
    out.onFailure((err) => heard.push(`a:${err.code}`));
    out.onFailure((err) => heard.push(`b:${err.code}`));
    out.write('x');
    expect(heard).toEqual([]);
    out.write('y');
    await new Promise((resolve) => process.nextTick(resolve));
    expect(heard).toEqual(['a:EBADF', 'b:EBADF']);
    expect(out.failure?.code).toBe('EBADF');
    // Closing reports the first failure, not the close's own success.
    expect(out.close()?.code).toBe('EBADF');
  });

  it('on EAGAIN hands the rest, and every later write, to its stream, so nothing is lost or reordered', async () => {
    const { client, server, close } = await socketPair();
    try {
      const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
      let streamed = 0;
      const out = new FdWriter(fd, () => {
        // Stands in for process.stdout: writes through the socket, which waits for room.
        const stream = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            streamed += chunk.length;
            client.write(chunk, callback);
          },
        });
        return stream as unknown as NodeJS.WriteStream;
      });
      const lines: string[] = [];
      for (let i = 0; i < 30_000; i++) lines.push(`line ${i} ${'x'.repeat(1000)}\n`);
      // Far more than a socket buffer holds while nobody reads: the direct writes must meet EAGAIN.
      for (const line of lines) out.write(line);
      expect(out.failure).toBeNull();
      expect(streamed).toBeGreaterThan(0);
      const received: Buffer[] = [];
      server.on('data', (chunk: Buffer) => received.push(chunk));
      const ended = new Promise((resolve) => server.once('end', resolve));
      server.resume();
      await out.flush();
      client.end();
      await ended;
      expect(Buffer.concat(received).toString()).toBe(lines.join(''));
      expect(out.failure).toBeNull();
    } finally {
      close();
    }
  });
});

describe('isTerminal', () => {
  it('says no for /dev/null, a file, a closed descriptor and a pipe, without asking node:tty', () => {
    const devNull = openSync('/dev/null', 'w');
    const file = openSync(tempFile(), 'w');
    expect(isTerminal(devNull)).toBe(false);
    expect(isTerminal(file)).toBe(false);
    closeSync(devNull);
    closeSync(file);
    expect(isTerminal(devNull)).toBe(false);
  });
});
