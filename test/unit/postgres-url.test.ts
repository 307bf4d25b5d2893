/** --db as a PostgreSQL URL: which values are URLs, their form checked early, and passwords never shown. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { describePgError, isConnectionLoss, isRetryable } from '../../src/state/postgres/failures.js';
import { isPostgresUrl, parsePostgresUrl, redactUrl } from '../../src/state/postgres/url.js';

describe('PostgreSQL URLs', () => {
  it.each([
    ['postgres://u@h:5432/db', true],
    ['postgresql://u@h/db', true],
    ['POSTGRES://u@h/db', true],
    ['state.db', false],
    ['./postgres://x', false],
    ['/tmp/postgres.db', false],
  ])('%s is a URL: %s', (db, expected) => {
    expect(isPostgresUrl(db)).toBe(expected);
  });

  it('says where a URL points, with the default port', () => {
    expect(parsePostgresUrl('postgres://alice:pw@db.internal/logs')).toEqual({ where: 'db.internal:5432', database: 'logs', user: 'alice' });
    expect(parsePostgresUrl('postgresql://127.0.0.1:6543/a%20b')).toEqual({ where: '127.0.0.1:6543', database: 'a b', user: null });
  });

  it.each(['postgres://h:notaport/db', 'postgres://h:5432/', 'postgres://h:5432', 'postgres://h/a/b'])('%s is a usage error', (url) => {
    expect(() => parsePostgresUrl(url)).toThrow(UsageError);
  });

  it('never shows the password, parsable or not', () => {
    expect(redactUrl('postgres://alice:s3cr3t@h:5432/db')).toBe('postgres://alice:***@h:5432/db');
    expect(redactUrl('postgres://alice@h/db')).toBe('postgres://alice@h/db');
    expect(redactUrl('postgres://alice:s3cr3t@h:bad/db')).not.toContain('s3cr3t');
    try {
      parsePostgresUrl('postgres://alice:s3cr3t@h:bad/db');
    } catch (err) {
      expect((err as Error).message).not.toContain('s3cr3t');
    }
  });
});

describe('PostgreSQL failures', () => {
  it('tells a lost connection from a retryable conflict from anything else', () => {
    expect(isConnectionLoss({ code: '57P01', message: 'terminating connection due to administrator command' })).toBe(true);
    expect(isConnectionLoss(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLoss({ code: 'ECONNRESET' })).toBe(true);
    expect(isConnectionLoss({ code: '23505', message: 'duplicate key' })).toBe(false);
    expect(isRetryable({ code: '40001' })).toBe(true);
    expect(isRetryable({ code: '40P01' })).toBe(true);
    expect(isRetryable({ code: '23505' })).toBe(false);
  });

  it('puts each failure in one line naming the server', () => {
    expect(describePgError({ code: 'ECONNREFUSED' }, 'h:1')).toBe('cannot reach the PostgreSQL server at h:1: connection refused');
    expect(describePgError({ code: '28P01', message: 'password authentication failed for user "a"' }, 'h:1')).toBe(
      'the PostgreSQL server at h:1 refused the login: password authentication failed for user "a"',
    );
    expect(describePgError({ code: '3D000', message: 'database "x" does not exist' }, 'h:1')).toBe(
      'the PostgreSQL server at h:1 has no database: database "x" does not exist',
    );
  });
});
