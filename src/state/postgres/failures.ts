/**
 * What went wrong talking to PostgreSQL, in words: the client's socket
 * errors and the server's SQLSTATE codes
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html).
 */

interface PgErrorFacts {
  readonly code?: string;
  readonly message?: string;
}

function facts(err: unknown): PgErrorFacts {
  return (err ?? {}) as PgErrorFacts;
}

const UNREACHABLE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
};

/** The connection is gone (or the server is shutting down): the transaction did not survive. */
export function isConnectionLoss(err: unknown): boolean {
  const { code, message = '' } = facts(err);
  if (code !== undefined && (UNREACHABLE[code] !== undefined || code === 'EPIPE')) return true;
  // 57P0x: the server terminated the session; 08xxx: connection exceptions.
  if (code !== undefined && (/^57P0[1-3]$/.test(code) || /^08/.test(code))) return true;
  return /Connection terminated|connection error and is not queryable|Client was closed/i.test(message);
}

/** Serialization failure or deadlock: the server rolled back, and running it again is the cure. */
export function isRetryable(err: unknown): boolean {
  const { code } = facts(err);
  return code === '40001' || code === '40P01';
}

/** One line for the user (never the URL's password: only host:port and the database's name appear). */
export function describePgError(err: unknown, where: string, database?: string): string {
  const { code, message = String(err) } = facts(err);
  const db = database === undefined ? '' : ` (database ${database})`;
  if (code !== undefined && UNREACHABLE[code] !== undefined) {
    return `cannot reach the PostgreSQL server at ${where}: ${UNREACHABLE[code]}`;
  }
  if (/timeout expired|Connection terminated due to connection timeout/i.test(message)) {
    return `cannot reach the PostgreSQL server at ${where}: timed out`;
  }
  if (code === '28P01' || code === '28000') {
    return `the PostgreSQL server at ${where} refused the login: ${message}`;
  }
  if (code === '3D000') return `the PostgreSQL server at ${where} has no database: ${message}`;
  if (code === '42501') return `PostgreSQL at ${where}${db}: permission denied: ${message}`;
  if (isConnectionLoss(err)) return `lost the connection to the PostgreSQL server at ${where}: ${message}`;
  return `PostgreSQL at ${where}${db}: ${message}`;
}
