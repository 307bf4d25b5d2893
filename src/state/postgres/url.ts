import { UsageError } from '../../errors.js';

const SCHEMES = ['postgres:', 'postgresql:'];

/** Whether `--db` names a PostgreSQL server (postgres://… or postgresql://…) rather than an SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL with its password replaced, for every message a user may read. */
export function redactUrl(url: string): string {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // Unparsable: redacted below.
  }
  if (parsed !== null && parsed.password !== '') {
    parsed.password = '***';
    return parsed.toString();
  }
  if (parsed !== null && parsed.username !== '') return url;
  // Unparsable, or an '@' the parser did not take as the end of USER:PASSWORD (a password
  // holding an unencoded '/'): anything before the last '@' may be a password.
  return url.replace(/\/\/.*@/s, '//***@');
}

export interface ServerAddress {
  /** host:port (or the socket directory), for messages. */
  readonly where: string;
  readonly database: string;
  readonly user: string | null;
}

/** Checks the URL's form (a malformed one is the user's mistake: exit 2) and says where it points. */
export function parsePostgresUrl(url: string): ServerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--db ${redactUrl(url)} is not a valid PostgreSQL URL (postgres://USER@HOST:PORT/DB)`);
  }
  if (!SCHEMES.includes(parsed.protocol.toLowerCase())) {
    throw new UsageError(`--db ${redactUrl(url)} is not a PostgreSQL URL (postgres://USER@HOST:PORT/DB)`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) {
    throw new UsageError(`--db ${redactUrl(url)} names no database: give postgres://USER@HOST:PORT/DB`);
  }
  const host = parsed.hostname !== '' ? parsed.hostname : (parsed.searchParams.get('host') ?? 'localhost');
  return {
    where: `${host}:${parsed.port !== '' ? parsed.port : '5432'}`,
    database,
    user: parsed.username === '' ? null : decodeURIComponent(parsed.username),
  };
}
