// `--connect` to a name: what it says when the name does not resolve, and where it keeps
// retrying. A real local server, and a resolver the test controls.
import type { LookupAddress } from 'node:dns';
import { createServer, type LookupFunction, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import type { NetworkSource } from '../../src/sources/source.js';
import { connectSource } from '../../src/sources/tcp.js';

const NAME = 'svc.test';

function resolverError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ${code} ${NAME}`), { code, syscall: 'getaddrinfo', hostname: NAME });
}

/** A resolver answering 127.0.0.1, or failing with `failWith` while that is set; counts its calls. */
function fakeResolver() {
  const state = { failWith: null as string | null, calls: 0 };
  const lookup = ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    state.calls++;
    setImmediate(() => {
      if (state.failWith !== null) callback(resolverError(state.failWith));
      else if (options.all === true) callback(null, [{ address: '127.0.0.1', family: 4 }] satisfies LookupAddress[]);
      else callback(null, '127.0.0.1', 4);
    });
  }) as unknown as LookupFunction;
  return { state, lookup };
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 5));
  }
}

let server: Server;
let port: number;
const accepted: Socket[] = [];
let source: NetworkSource | null = null;

beforeEach(async () => {
  accepted.length = 0;
  server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  source?.stop();
  source = null;
  for (const socket of accepted) socket.destroy();
  await new Promise<void>((done) => server.close(() => done()));
});

describe('--connect NAME:PORT', () => {
  it('a name that does not exist at start is a usage error naming it, before any attempt', async () => {
    const resolver = fakeResolver();
    resolver.state.failWith = 'ENOTFOUND';
    const notes: string[] = [];
    source = connectSource({ host: NAME, port }, (line) => notes.push(line), resolver.lookup);
    const failure = await source.start().then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toBe(`cannot resolve ${NAME} (--connect ${NAME}:${port}): no such host`);
    expect(resolver.state.calls).toBe(1);
    expect(notes).toEqual([]);
    expect(accepted).toHaveLength(0);
  });

  it('a resolver that is down at start, or a name that stops resolving later: said once per outage, retried until it works', async () => {
    const resolver = fakeResolver();
    resolver.state.failWith = 'EAI_AGAIN';
    const notes: string[] = [];
    source = connectSource({ host: NAME, port }, (line) => notes.push(line), resolver.lookup);
    await source.start();
    const received: string[] = [];
    const reading = (async () => {
      for await (const connection of source.connections()) {
        for await (const chunk of connection.chunks) received.push(chunk.toString('utf8'));
      }
    })();

    // Several failed attempts, one note.
    await until('three lookups', () => (resolver.state.calls >= 3 ? true : undefined));
    expect(notes).toEqual([`cannot resolve ${NAME}; retrying`]);

    resolver.state.failWith = null;
    await until('the first connection', () => accepted[0]);
    expect(notes).toEqual([`cannot resolve ${NAME}; retrying`, `connected to ${NAME}:${port} again`]);

    // The name stops resolving while connected; then the server closes the connection.
    resolver.state.failWith = 'ENOTFOUND';
    accepted[0]!.end('one\n');
    await until('the close', () => (notes.length === 3 ? true : undefined));
    const calls = resolver.state.calls;
    await until('three more lookups', () => (resolver.state.calls >= calls + 3 ? true : undefined));
    expect(notes.slice(2)).toEqual([`connection to ${NAME}:${port} closed; reconnecting`, `cannot resolve ${NAME}; retrying`]);

    resolver.state.failWith = null;
    await until('the second connection', () => (accepted[1] !== undefined && notes.length === 5 ? true : undefined));
    expect(notes[4]).toBe(`connected to ${NAME}:${port} again`);
    accepted[1]!.end('two\n');
    await until('both lines', () => (received.join('') === 'one\ntwo\n' ? true : undefined));
    source.stop();
    await reading;
  });
});
