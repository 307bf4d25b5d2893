/**
 * Network inputs over real sockets on 127.0.0.1: `--listen` (statesync is the
 * server, the test's `node:net` sockets are the clients) and `--connect`
 * (statesync is the client of a `node:net` server the test starts, stops and
 * restarts). statesync's listener takes a free port (`--listen 0`) and says
 * which on stderr; the test's own servers bind port 0 too.
 */
import { lookup } from 'node:dns/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  bytesReadBy,
  collect,
  countKeys,
  expectCounts,
  externalIPv4,
  freeTcpPort,
  procStatusKb,
  seededRandom,
  sleep,
  sourceStatus,
  spawnCli,
  status,
  tcpListenAddresses,
  textOf,
  tsvTotals,
  useTempDir,
  waitFor,
  waitForSource,
  type CliResult,
} from './helpers.js';

const tmp = useTempDir('network');

/** Waits for the `listening on HOST:PORT` line of a child started with --listen; returns the port. */
async function listeningPort(done: Promise<CliResult>, stderr: () => string): Promise<number> {
  const port = await Promise.race([
    waitFor('the "listening on" line', () => {
      const m = /^statesync: listening on (?:\[[^\]]+\]|[^:\s]+):(\d+)$/m.exec(stderr());
      return m === null ? undefined : Number(m[1]);
    }),
    done.then((r) => {
      throw new Error(`statesync exited ${r.exitCode} before listening: ${r.stderr}`);
    }),
  ]);
  // The line is printed once the socket is bound.
  expect(tcpListenAddresses(port).length, `nothing listens on port ${port}`).toBeGreaterThan(0);
  return port;
}

/** Starts `statesync count --listen HOST:0 ...` (a free port) and waits until it says where it listens. */
async function startListener(host: string | null, extra: readonly string[]) {
  const child = spawnCli(['count', '--listen', host === null ? '0' : `${host}:0`, ...extra]);
  const done = collect(child, 45_000);
  const stderr = textOf(child.stderr);
  const port = await listeningPort(done, stderr);
  return { child, done, port, stderr };
}

/** A connected client socket (no Nagle: small writes go out as small segments). */
function openClient(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolveSocket, reject) => {
    const socket = connect({ port, host, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolveSocket(socket);
    });
    socket.once('error', reject);
  });
}

/** Writes, waiting for 'drain' when the socket's buffer is full. */
async function write(socket: Socket, data: Buffer | string): Promise<void> {
  if (!socket.write(data)) await new Promise<void>((done) => socket.once('drain', () => done()));
}

/** Ends the socket cleanly and waits until it is fully closed (the server has closed its side too). */
function endAndClose(socket: Socket): Promise<void> {
  return new Promise((done) => {
    socket.once('close', () => done());
    socket.end();
  });
}

async function stopWith(child: ReturnType<typeof spawnCli>, done: Promise<CliResult>, signal: 'SIGINT' | 'SIGTERM') {
  child.kill(signal);
  return done;
}

// With 4 threads, the clients' lines (over a MB) are counted on threads, in chunks mixing clients.
describe.each(['1', '4'])('--listen: many concurrent clients, --threads %s', (threads) => {
  it('frames 20 concurrent clients separately: exact per-line totals, nothing interleaved', async () => {
    const db = tmp.newDb();
    const server = await startListener(null, ['--key', 'line', '--window', '1d', '--format', 'tsv', '--db', db, '--threads', threads]);
    const port = server.port;
    const random = seededRandom(5);
    const flavours = ['é', '日本語', '😀', 'Ωμέγα', 'e\u0301', 'ß', '中文字', 'ascii'];
    const clients = 20;
    const expected = new Map<string, number>();
    const payloads: Buffer[] = [];
    let totalLines = 0;
    for (let c = 0; c < clients; c++) {
      const lines: string[] = [];
      const n = 80 + Math.floor(random() * 40);
      for (let j = 0; j < n; j++) {
        const prefix = `c${String(c).padStart(2, '0')}-${String(j).padStart(6, '0')}-`;
        let body: string;
        if (j % 37 === 5) {
          // A long line (tens of kB, multi-byte characters throughout), well below --max-line-bytes.
          body = `${flavours[j % flavours.length]!}x`.repeat(5_000 + Math.floor(random() * 10_000));
        } else {
          const words: string[] = [];
          const w = 1 + Math.floor(random() * 6);
          for (let k = 0; k < w; k++) words.push(`${flavours[Math.floor(random() * flavours.length)]!}${Math.floor(random() * 1000)}`);
          body = words.join(' ');
        }
        const line = prefix + body;
        lines.push(`${line}\n`);
        expected.set(line, 1);
      }
      totalLines += n;
      payloads.push(Buffer.from(lines.join(''), 'utf8'));
    }
    const totalBytes = payloads.reduce((s, p) => s + p.length, 0);

    // All clients connect first, then write concurrently in small random pieces
    // (cut anywhere, mid-character too), yielding to each other between writes.
    const sockets = await Promise.all(payloads.map(() => openClient(port)));
    await Promise.all(
      sockets.map(async (socket, c) => {
        const data = payloads[c]!;
        const rnd = seededRandom(100 + c);
        for (let at = 0; at < data.length; ) {
          const size = rnd() < 0.7 ? 1 + Math.floor(rnd() * 40) : 1 + Math.floor(rnd() * 6000);
          await write(socket, data.subarray(at, Math.min(data.length, at + size)));
          at += size;
          if (rnd() < 0.3) await sleep(0);
          else await new Promise<void>((done) => setImmediate(done));
        }
        await endAndClose(socket);
      }),
    );

    const result = await stopWith(server.child, server.done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    const totals = tsvTotals(result.stdout);
    expect(totals.size).toBe(expected.size);
    expectCounts(totals, expected);

    const [source] = await sourceStatus(db);
    expect(source).toMatchObject({
      source: `listen:127.0.0.1:${port}`,
      kind: 'tcp-listen',
      offset: totalBytes,
      lines: totalLines,
      clients: 0,
      refused: 0,
    });
    const { jobs } = await status(db);
    expect(jobs[0]).toMatchObject({ records: totalLines, rejected: 0, late: 0 });
  });
});

describe('--listen: bind address', () => {
  it('binds 127.0.0.1 when no host is given: unreachable from a non-loopback address', async () => {
    const server = await startListener(null, ['--key', 'line', '--window', '1d']);
    const port = server.port;
    expect(tcpListenAddresses(port)).toEqual(['127.0.0.1']);

    const external = await externalIPv4();
    if (external !== null) {
      const failure = await openClient(port, external).then(
        (s) => {
          s.destroy();
          return 'connected';
        },
        (err: NodeJS.ErrnoException) => err.code,
      );
      expect(failure).toBe('ECONNREFUSED');
    }
    const loop = await openClient(port);
    await write(loop, 'via-loopback\n');
    await endAndClose(loop);
    const result = await stopWith(server.child, server.done, 'SIGTERM');
    expect(result.exitCode, result.stderr).toBe(143);
    expect(tsvTotals(result.stdout)).toEqual(new Map([['via-loopback', 1]]));
  });

  it('binds all interfaces only when asked with 0.0.0.0', async () => {
    const server = await startListener('0.0.0.0', ['--key', 'line', '--window', '1d']);
    const port = server.port;
    expect(tcpListenAddresses(port)).toEqual(['0.0.0.0']);

    const expected = new Map([['via-loopback', 1]]);
    const external = await externalIPv4();
    if (external !== null) {
      const outside = await openClient(port, external);
      await write(outside, 'via-external\n');
      await endAndClose(outside);
      expected.set('via-external', 1);
    }
    const loop = await openClient(port);
    await write(loop, 'via-loopback\n');
    await endAndClose(loop);
    const result = await stopWith(server.child, server.done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), expected);
  });
});

describe('--listen: which port', () => {
  it('--listen 0 takes a free port and says which on stderr, once, when it is bound', async () => {
    const server = await startListener(null, ['--key', 'line', '--window', '1d']);
    expect(server.stderr()).toBe(`statesync: listening on 127.0.0.1:${server.port}\n`);
    expect(tcpListenAddresses(server.port)).toEqual(['127.0.0.1']);
    const client = await openClient(server.port);
    await write(client, 'hello\n');
    await endAndClose(client);
    const result = await stopWith(server.child, server.done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    expect(result.stderr).toBe(`statesync: listening on 127.0.0.1:${server.port}\n`);
    expect(tsvTotals(result.stdout)).toEqual(new Map([['hello', 1]]));
  });

  it('HOST:0 with an IPv6 address prints it in brackets', async () => {
    const probe = createServer();
    const ipv6 = await new Promise<boolean>((done) => {
      probe.once('error', () => done(false));
      probe.listen(0, '::1', () => probe.close(() => done(true)));
    });
    if (!ipv6) return; // no IPv6 loopback on this machine
    const server = await startListener('[::1]', ['--window', '1d']);
    expect(server.stderr()).toBe(`statesync: listening on [::1]:${server.port}\n`);
    expect(tcpListenAddresses(server.port)).toEqual(['::1']);
    const result = await stopWith(server.child, server.done, 'SIGTERM');
    expect(result.exitCode, result.stderr).toBe(143);
  });

  it('says nothing with --quiet', async () => {
    const port = await freeTcpPort();
    const child = spawnCli(['count', '--listen', String(port), '--quiet', '--window', '1d']);
    const done = collect(child, 15_000);
    await waitFor(`a listener on port ${port}`, () => (tcpListenAddresses(port).length > 0 ? true : undefined));
    const result = await stopWith(child, done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    expect(result.stderr).toBe('');
  });
});

describe('--listen: limits and connection edge cases', () => {
  it('refuses connections beyond --max-connections and counts them; existing clients are unaffected', async () => {
    const db = tmp.newDb();
    const server = await startListener(null, [
      '--max-connections',
      '2',
      '--key',
      'line',
      '--window',
      '1d',
      '--db',
      db,
      '--commit-interval',
      '100ms',
    ]);
    const port = server.port;
    const a = await openClient(port);
    const b = await openClient(port);
    await write(a, 'a-1\n');
    await write(b, 'b-1\n');
    // Both are being served before the third one comes.
    await waitForSource(db, 'both first lines', (s) => s.lines === 2 && s.clients === 2);

    const c = await openClient(port).catch(() => null);
    if (c !== null) {
      let closed = false;
      c.once('close', () => (closed = true));
      c.on('error', () => undefined);
      c.write('c-1\n');
      // The server closes it; the test does not.
      await waitFor('the server to close the third connection', () => closed, 5000);
    }
    const refused = await waitForSource(db, 'a refused connection', (s) => s.refused >= 1);
    expect(refused.clients).toBe(2);

    // The first two go on as if nothing happened.
    await write(a, 'a-2\n');
    await write(b, 'b-2\n');
    await endAndClose(a);
    await endAndClose(b);
    // Room again once they are gone.
    await waitForSource(db, 'the first two to be gone', (s) => s.clients === 0);
    const d = await openClient(port);
    await write(d, 'd-1\n');
    await endAndClose(d);
    await waitForSource(db, 'the line of the fourth client', (s) => s.lines === 5);

    const result = await stopWith(server.child, server.done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), countKeys(['a-1', 'a-2', 'b-1', 'b-2', 'd-1']));
    const [source] = await sourceStatus(db);
    expect(source!.refused).toBeGreaterThanOrEqual(1);
  });

  it('a reset mid-line drops only that partial line; the lines before it and other clients count', async () => {
    const db = tmp.newDb();
    const server = await startListener(null, ['--key', 'line', '--window', '1d', '--db', db, '--commit-interval', '100ms']);
    const port = server.port;
    const other = await openClient(port);
    await write(other, 'o-1\no-2-sta');
    const r = await openClient(port);
    const sent = 'r-1\nr-2\nr-partial-never-ended';
    await write(r, 'r-1\nr-2\nr-par');
    await write(r, 'tial-never-ended');
    // Once the server has received every byte (partial line included), reset the connection.
    await waitForSource(db, 'all bytes received', (s) => s.offset === Buffer.byteLength(sent) + Buffer.byteLength('o-1\no-2-sta'));
    const closed = new Promise<void>((done) => r.once('close', () => done()));
    r.resetAndDestroy();
    await closed;
    // The other client's own partial line is not disturbed by the reset.
    await write(other, 'rt-2\n');
    await endAndClose(other);
    await waitForSource(db, 'the other client to finish', (s) => s.clients === 0 && s.lines >= 4);

    const result = await stopWith(server.child, server.done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), countKeys(['o-1', 'o-2-start-2', 'r-1', 'r-2']));
  });

  it('counts a final line without a newline when the client closes cleanly', async () => {
    const server = await startListener(null, ['--key', 'line', '--window', '1d']);
    const port = server.port;
    const one = await openClient(port);
    await write(one, 'n-1\nn-last-without-newline');
    await endAndClose(one);
    // A client that sends nothing but an unterminated line, in two pieces.
    const two = await openClient(port);
    // The second piece is sent once the server has read the first (it reads nothing else meanwhile).
    const before = bytesReadBy(server.child.pid!);
    await write(two, 'only-');
    await waitFor('the server to read the first piece', () => before === null || (bytesReadBy(server.child.pid!) ?? 0) - before >= 5);
    await write(two, 'line');
    await endAndClose(two);
    const result = await stopWith(server.child, server.done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), countKeys(['n-1', 'n-last-without-newline', 'only-line']));
  });

  it('rejects an over-long line on one socket without buffering it; the next line and other clients count', async () => {
    const db = tmp.newDb();
    const server = await startListener(null, [
      '--key',
      'line',
      '--window',
      '1d',
      '--max-line-bytes',
      '1000',
      '--db',
      db,
    ]);
    const port = server.port;
    const pid = server.child.pid!;
    const before = procStatusKb(pid, 'VmHWM');
    const long = await openClient(port);
    const side = await openClient(port);
    await write(long, 'before-long\n');
    await write(side, 'side-1\n');
    // 144 MiB without a newline, in 64 KiB writes, then the rest of the stream.
    const block = Buffer.alloc(64 * 1024, 'L');
    for (let i = 0; i < 2304; i++) await write(long, block);
    await write(side, 'side-2\n');
    await write(long, 'still-the-long-line\nafter-long\nexactly-1000-');
    await write(long, `${'y'.repeat(1000 - 'exactly-1000-'.length)}\n`);
    await endAndClose(long);
    await endAndClose(side);
    const after = procStatusKb(pid, 'VmHWM');

    const result = await stopWith(server.child, server.done, 'SIGINT');
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(
      tsvTotals(result.stdout),
      countKeys(['before-long', 'after-long', `exactly-1000-${'y'.repeat(1000 - 'exactly-1000-'.length)}`, 'side-1', 'side-2']),
    );
    expect(result.stderr).toMatch(/line too long/);
    const { jobs } = await status(db);
    expect(jobs[0]).toMatchObject({ records: 5, rejected: 1 });
    if (before !== null && after !== null) {
      // Buffering the 144 MiB line would show in the peak resident set; skipping it leaves only
      // collectable garbage of the chunks read (about 40 MiB measured).
      expect(after - before).toBeLessThan(96 * 1024);
    }
  });
});

describe('--listen: port in use', () => {
  it('says so in one line on stderr and exits 2', async () => {
    const occupier: Server = createServer();
    await new Promise<void>((done) => occupier.listen(0, '127.0.0.1', () => done()));
    const port = (occupier.address() as { port: number }).port;
    try {
      const child = spawnCli(['count', '--listen', String(port)]);
      child.stdin.end('not read\n');
      const result = await collect(child, 15_000);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe('');
      const lines = result.stderr.split('\n').filter((l) => l.length > 0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^statesync: cannot listen on 127\\.0\\.0\\.1:${port}`));
    } finally {
      await new Promise<void>((done) => occupier.close(() => done()));
    }
  });
});

describe('--connect', () => {
  /** A one-shot server on `port`: sends `data` in small pieces to its first client, then ends the connection and stops listening. */
  async function serveOnce(port: number, data: Buffer, seed: number): Promise<{ served: Promise<void> }> {
    const server = createServer();
    await new Promise<void>((done, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => done());
    });
    const served = new Promise<void>((done, reject) => {
      server.once('connection', (socket: Socket) => {
        // Nobody else: the client is statesync.
        server.close();
        socket.setNoDelay(true);
        socket.on('error', reject);
        const rnd = seededRandom(seed);
        void (async () => {
          for (let at = 0; at < data.length; ) {
            const size = 1 + Math.floor(rnd() * 300);
            await write(socket, data.subarray(at, Math.min(data.length, at + size)));
            at += size;
            if (rnd() < 0.2) await sleep(1); // the pace of a real server: some pieces arrive apart
          }
          socket.once('close', () => done());
          socket.end();
        })().catch(reject);
      });
    });
    return { served };
  }

  it('waits for a server that starts late, survives its restart, counts each line once and stops cleanly on SIGINT', async () => {
    const port = await freeTcpPort();
    const db = tmp.newDb();
    const where = `127.0.0.1:${port}`;
    const child = spawnCli(['count', '--connect', where, '--key', 'line', '--window', '1d', '--db', db, '--commit-interval', '100ms']);
    const done = collect(child, 45_000);
    const stderr = textOf(child.stderr);

    const lifetime = (tag: string, n: number, unterminated: boolean): { data: Buffer; keys: string[] } => {
      const keys: string[] = [];
      let text = '';
      for (let i = 0; i < n; i++) {
        const key = `${tag}-${String(i).padStart(5, '0')}-${'é'.repeat(i % 7)}`;
        keys.push(key);
        text += i === n - 1 && unterminated ? key : `${key}\n`;
      }
      return { data: Buffer.from(text, 'utf8'), keys };
    };
    const first = lifetime('first', 2000, false);
    const second = lifetime('second', 1500, true);

    // Nobody listens yet: it says so once, and keeps retrying. The pause is what is tested: retries
    // follow the failure after 100, 300 and 700 ms (then 1500), so 900 ms holds three of them.
    await waitFor('the first "cannot connect"', () => stderr().includes(`cannot connect to ${where}; retrying`));
    await sleep(900);
    expect(child.exitCode).toBeNull();

    const one = await serveOnce(port, first.data, 1);
    await one.served;
    await waitForSource(db, 'the first lifetime', (s) => s.offset === first.data.length);
    await waitFor('the "closed" note', () => stderr().includes(`connection to ${where} closed; reconnecting`));
    // An outage of several retries is what is tested: they come 100, 300 and 700 ms after the
    // close, the next at 1500 ms, so coming back after 1200 ms costs no time beyond that one.
    await sleep(1200);

    const two = await serveOnce(port, second.data, 2);
    await two.served;
    const total = first.data.length + second.data.length;
    const source = await waitForSource(db, 'the second lifetime', (s) => s.offset === total && s.lines === 3500);
    expect(source).toMatchObject({ source: `connect:${where}`, kind: 'tcp-connect' });
    await waitFor('the second "closed" note', () => stderr().split(`connection to ${where} closed; reconnecting`).length === 3);

    child.kill('SIGINT');
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(130);
    expectCounts(tsvTotals(result.stdout), countKeys([...first.keys, ...second.keys]));

    // Each outage is reported once, however many attempts it took.
    const notes = result.stderr.split('\n').filter((l) => l.length > 0);
    const occurrences = (text: string) => notes.filter((l) => l.includes(text)).length;
    expect(occurrences(`cannot connect to ${where}; retrying`)).toBe(1);
    expect(occurrences(`connected to ${where} again`)).toBe(2);
    expect(occurrences(`connection to ${where} closed; reconnecting`)).toBe(2);
    for (const line of notes) expect(line).toMatch(/^statesync: /);

    const { jobs } = await status(db);
    expect(jobs[0]).toMatchObject({ records: 3500, rejected: 0 });
  });

  it('a name that does not exist: one line, exit 2 (a resolver that is down: said once, and it retries)', async () => {
    const name = 'nosuch.invalid'; // reserved: never resolves (RFC 6761)
    const resolver = await lookup(name).then(
      () => 'resolved',
      (err: NodeJS.ErrnoException) => err.code,
    );
    const child = spawnCli(['count', '--connect', `${name}:9`, '--window', '1d']);
    const done = collect(child, 30_000);
    if (resolver === 'ENOTFOUND') {
      const result = await done;
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(`statesync: cannot resolve ${name} (--connect ${name}:9): no such host\n`);
    } else {
      // No resolver reachable here (EAI_AGAIN): that may pass, so it keeps trying.
      const stderr = textOf(child.stderr);
      await waitFor('the "cannot resolve" note', () => stderr().includes(`cannot resolve ${name}; retrying`), 20_000);
      const result = await stopWith(child, done, 'SIGTERM');
      expect(result.exitCode, result.stderr).toBe(143);
      expect(result.stderr).toBe(`statesync: cannot resolve ${name}; retrying\n`);
    }
  });

  it('stops cleanly on SIGTERM while retrying', async () => {
    const port = await freeTcpPort();
    const child = spawnCli(['count', '--connect', `localhost:${port}`, '--window', '1d']);
    const done = collect(child, 15_000);
    const stderr = textOf(child.stderr);
    // The note is printed as the retry is scheduled: from here on it is retrying.
    await waitFor('the "cannot connect" note', () => stderr().includes('cannot connect to'));
    child.kill('SIGTERM');
    const result = await done;
    expect(result.exitCode, result.stderr).toBe(143);
    expect(result.stdout).toBe('');
  });
});

describe('several inputs at once', () => {
  it('reads a file, stdin, --listen and --connect in one process, each its own source, until SIGINT', async () => {
    const upstream = createServer();
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', () => done()));
    const upstreamPort = (upstream.address() as { port: number }).port;
    // Serves one connection only: a reconnect finds nobody, so nothing is sent twice.
    upstream.once('connection', (socket: Socket) => {
      upstream.close();
      socket.end('from-upstream-1\nfrom-upstream-2\n');
    });
    const db = tmp.newDb();
    const file = tmp.path('combined-input.log');
    writeFileSync(file, 'from-file-1\nfrom-file-2\n');
    try {
      const child = spawnCli([
        'count',
        file,
        '-',
        '--listen',
        '0',
        '--connect',
        `127.0.0.1:${upstreamPort}`,
        '--key',
        'line',
        '--window',
        '1d',
        '--db',
        db,
        '--commit-interval',
        '100ms',
      ]);
      const done = collect(child, 30_000);
      const stderr = textOf(child.stderr);
      child.stdin.end('from-stdin-1\n');
      const listenPort = await listeningPort(done, stderr);
      const client = await openClient(listenPort);
      await write(client, 'from-listen-1\n');
      await endAndClose(client);
      // Every input has been read; stdin and the file have ended, and the process goes on.
      for (const [kind, lines] of [
        ['file', 2],
        ['stdin', 1],
        ['tcp-listen', 1],
        ['tcp-connect', 2],
      ] as const) {
        await waitForSource(db, `the ${kind} lines`, (s) => s.kind === kind && s.lines === lines);
      }
      expect(child.exitCode).toBeNull();

      child.kill('SIGINT');
      const result = await done;
      expect(result.exitCode, result.stderr).toBe(130);
      expectCounts(
        tsvTotals(result.stdout),
        countKeys(['from-file-1', 'from-file-2', 'from-stdin-1', 'from-listen-1', 'from-upstream-1', 'from-upstream-2']),
      );
      const kinds = (await sourceStatus(db)).map((s) => s.kind).sort();
      expect(kinds).toEqual(['file', 'stdin', 'tcp-connect', 'tcp-listen']);
    } finally {
      upstream.close();
    }
  });
});
