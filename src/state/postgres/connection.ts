import pg from 'pg';
import { RuntimeFailure, StatesyncError } from '../../errors.js';
import type { StoreOptions } from '../port.js';
import { describePgError, isConnectionLoss, isRetryable } from './failures.js';
import { migrate } from './schema.js';
import { parsePostgresUrl, redactUrl } from './url.js';

/** Where statesync's tables live in the database: one schema of its own beside whatever else is there. */
export const SCHEMA = 'statesync';

/** The server's clock in epoch ms: heartbeats and liveness use it, since the hosts' clocks differ. */
export const SERVER_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** The oldest server this store is written for (ON CONFLICT, identity columns, pg_notify, FETCH cursors). */
const MIN_SERVER_VERSION = 120000;
const TRANSACTION_RETRIES = 10;

/** int8 as a JS number: epoch ms, offsets and counts stay far below 2^53; anything else is refused, never truncated. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RuntimeFailure(`PostgreSQL returned ${text}, beyond the integers statesync handles exactly`);
  return n;
}

const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export type Client = pg.PoolClient;

/** A client in a transaction, or the connection itself (a statement on its own): either runs a query. */
export interface Queryable {
  query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}

export interface TransactionOptions {
  /** A consistent read of several statements (snapshot export): REPEATABLE READ, READ ONLY. */
  readonly snapshot?: boolean;
}

/**
 * A pool of connections to one PostgreSQL database, with statesync's schema
 * on the search path. Each transaction pins one pooled client from BEGIN to
 * COMMIT; serialization failures and deadlocks are retried; a lost
 * connection is one line (see failures.ts), never a stack.
 */
export class PgConnection {
  private constructor(
    private readonly pool: pg.Pool,
    readonly url: string,
    /** host:port, for messages. */
    readonly where: string,
  ) {}

  /** The URL as messages show it: without its password. */
  get displayName(): string {
    return redactUrl(this.url);
  }

  /** Connects, checks the server, and creates or migrates the schema (readers only check it). */
  static async open(url: string, options: StoreOptions): Promise<PgConnection> {
    const address = parsePostgresUrl(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      types: TYPES,
      options: `-c search_path=${SCHEMA}`,
      application_name: 'statesync',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    // An idle pooled client whose server went away reports here; the next query on the pool reconnects.
    pool.on('error', () => undefined);
    const conn = new PgConnection(pool, url, address.where);
    try {
      await conn.checkServer();
      await migrate(conn, options, redactUrl(url));
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw conn.failure(err, null, address.database);
    }
    return conn;
  }

  private async checkServer(): Promise<void> {
    const { rows } = await this.pool.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
    const version = Number(rows[0]!.v);
    if (version < MIN_SERVER_VERSION) {
      const shown = `${Math.floor(version / 10000)}.${Math.floor(version / 100) % 100}`;
      throw new RuntimeFailure(`the PostgreSQL server at ${this.where} is version ${shown}; statesync needs 12 or newer`);
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  /** One statement outside any transaction (a read, or a write complete in itself). */
  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw this.failure(err, null);
    }
  }

  /** A connection of its own, outside the pool (LISTEN keeps one for as long as it listens). */
  dedicatedClient(): pg.Client {
    return new pg.Client({ connectionString: this.url, types: TYPES, options: `-c search_path=${SCHEMA}`, application_name: 'statesync' });
  }

  /**
   * Runs fn in one transaction on one pinned client, READ COMMITTED (writers
   * serialize on row locks, see commits.ts) unless `snapshot`. Retried whole
   * on a serialization failure or deadlock.
   */
  async transaction<T>(fn: (client: Client) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: Client;
      try {
        client = await this.pool.connect();
      } catch (err) {
        throw this.failure(err, null);
      }
      let broken = false;
      let phase: 'work' | 'commit' = 'work';
      try {
        await client.query(options.snapshot === true ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
        const result = await fn(client);
        phase = 'commit';
        await client.query('COMMIT');
        return result;
      } catch (err) {
        broken = isConnectionLoss(err);
        if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
        if (!broken && isRetryable(err) && attempt < TRANSACTION_RETRIES) continue;
        throw this.failure(err, phase);
      } finally {
        // A client whose connection broke is destroyed, not handed to the next transaction.
        client.release(broken);
      }
    }
  }

  /** The typed one-line error for what went wrong talking to the server. */
  failure(err: unknown, phase: 'work' | 'commit' | null, database?: string): StatesyncError {
    if (err instanceof StatesyncError) return err;
    if (isConnectionLoss(err) && phase === 'commit') {
      return new RuntimeFailure(
        `lost the connection to the PostgreSQL server at ${this.where} during COMMIT: whether the last commit was applied is unknown; ` +
          `run the same command again, it resumes from the offsets the server holds`,
        { cause: err },
      );
    }
    return new RuntimeFailure(describePgError(err, this.where, database), { cause: err });
  }
}
