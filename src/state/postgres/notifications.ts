import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { PublicationWait } from '../port.js';
import type { Client, PgConnection } from './connection.js';

const CHANNEL = 'statesync_publication';
/** Without a notification (missed, or the listening connection down), the log is read again this often. */
const FALLBACK_POLL_MS = 3000;

/** Inside the publishing transaction: delivered to listeners when (and only if) it commits. */
export async function notifyPublished(client: Client, seq: number): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [CHANNEL, String(seq)]);
}

export async function latestSeq(conn: PgConnection): Promise<number> {
  const { rows } = await conn.query<{ value: number }>(`SELECT value FROM sequences WHERE name = 'publication'`);
  return rows[0]?.value ?? 0;
}

/**
 * `watch --follow`: LISTENs on a connection of its own, and reads the
 * counter again on each notification (its payload is only a hint), every few
 * seconds without one, and after the server comes back from a restart.
 */
export class PublicationListener {
  private client: pg.Client | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly conn: PgConnection) {}

  async waitFor(seq: number, wait: PublicationWait): Promise<number> {
    for (;;) {
      const woken = this.nextWake();
      await this.listen();
      let latest: number;
      try {
        latest = await latestSeq(this.conn);
      } catch {
        // The server is away (a restart): keep following, and look again.
        await sleep(wait.pollMs, undefined, { signal: wait.signal }).catch(() => undefined);
        if (wait.signal.aborted) return 0;
        continue;
      }
      if (latest >= seq || wait.signal.aborted) return latest;
      const interval = this.client === null ? wait.pollMs : FALLBACK_POLL_MS;
      await Promise.race([woken, sleep(interval, undefined, { signal: wait.signal }).catch(() => undefined)]);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private nextWake(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** Connects and LISTENs unless already listening; a failure leaves polling in charge until the next try. */
  private async listen(): Promise<void> {
    if (this.client !== null) return;
    const client = this.conn.dedicatedClient();
    client.on('notification', () => this.wake?.());
    const lost = () => {
      // The connection broke or the server closed it: drop it, and listen again on the next round.
      if (this.client === client) this.client = null;
      void client.end().catch(() => undefined);
      this.wake?.();
    };
    client.on('error', lost);
    client.on('end', lost);
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.client = client;
    } catch {
      await client.end().catch(() => undefined);
    }
  }
}
