/**
 * The test infrastructure's PostgreSQL server (test/support/postgres.ts,
 * started once per run by postgres-global.ts): it answers, it is the
 * installed version, fresh databases are independent, and terminateBackends
 * cuts another client's connection the way a lost server would.
 */
import { basename, dirname } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { freshDatabaseUrl, pgServerUrl, terminateBackends } from '../support/pg.js';
import { serverBinDir } from '../support/postgres.js';

const clients: pg.Client[] = [];

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A connection the server ends between queries is reported as an 'error' event; the next query fails anyway.
  client.on('error', () => undefined);
  await client.connect();
  clients.push(client);
  return client;
}

afterEach(async () => {
  for (const client of clients.splice(0)) await client.end().catch(() => undefined);
});

describe('the shared PostgreSQL server', () => {
  it('listens on loopback and is the newest installed PostgreSQL', async () => {
    const url = new URL(pgServerUrl());
    expect(url.hostname).toBe('127.0.0.1');
    const client = await connect(pgServerUrl());
    const { rows } = await client.query<{ version: string }>('SELECT version()');
    expect(rows[0]!.version).toMatch(new RegExp(`^PostgreSQL ${basename(dirname(serverBinDir()))}\\.\\d+ `));
  });

  it('gives each caller a new, empty database of its own', async () => {
    const [urlA, urlB] = await Promise.all([freshDatabaseUrl(), freshDatabaseUrl()]);
    expect(urlA).not.toBe(urlB);
    const [a, b] = await Promise.all([connect(urlA), connect(urlB)]);
    const names = await Promise.all([a, b].map(async (c) => (await c.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db));
    expect(names[0]).not.toBe(names[1]);
    expect(urlA.endsWith(`/${names[0]}`)).toBe(true);

    await a.query('CREATE TABLE marks (n integer)');
    await a.query('INSERT INTO marks VALUES (1)');
    const inB = await b.query<{ found: string | null }>(`SELECT to_regclass('marks')::text AS found`);
    expect(inB.rows[0]!.found).toBeNull();
    const tables = await b.query(`SELECT 1 FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables.rowCount).toBe(0);
  });

  it('terminateBackends cuts only the chosen session, mid-transaction, and its work is lost', async () => {
    const url = await freshDatabaseUrl();
    const setup = await connect(url);
    await setup.query('CREATE TABLE marks (n integer)');
    const victim = await connect(url);
    const bystander = await connect(url);
    const victimPid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await victim.query('BEGIN');
    await victim.query('INSERT INTO marks VALUES (1)');

    const killed = await terminateBackends(url, (session) => session.pid === victimPid);

    expect(killed).toEqual([victimPid]);
    await expect(victim.query('COMMIT')).rejects.toThrow(/terminat|Connection/i);
    expect((await bystander.query('SELECT count(*)::int AS n FROM marks')).rows[0]).toEqual({ n: 0 });
  });

  it('terminateBackends without a filter ends every other session of that database and no other', async () => {
    const [url, otherUrl] = await Promise.all([freshDatabaseUrl(), freshDatabaseUrl()]);
    const [one, two, elsewhere] = await Promise.all([connect(url), connect(url), connect(otherUrl)]);

    expect(await terminateBackends(url)).toHaveLength(2);
    await expect(one.query('SELECT 1')).rejects.toThrow();
    await expect(two.query('SELECT 1')).rejects.toThrow();
    expect((await elsewhere.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
  });
});
