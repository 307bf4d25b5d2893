/**
 * PostgreSQL URLs as messages show them: the password never appears, however
 * the URL is (mis)spelled; the rest stays readable where it can.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parsePostgresUrl, redactUrl } from '../../src/state/postgres/url.js';

describe('redactUrl', () => {
  it('replaces a password and keeps the user, host, port and database', () => {
    expect(redactUrl('postgres://ann:s3cr3t@db.internal:5432/logs')).toBe('postgres://ann:***@db.internal:5432/logs');
    expect(redactUrl('postgresql://ann:p%40ss@db/logs')).toBe('postgresql://ann:***@db/logs');
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactUrl('postgres://ann@127.0.0.1:5432/logs')).toBe('postgres://ann@127.0.0.1:5432/logs');
    expect(redactUrl('postgres://127.0.0.1:5432/logs')).toBe('postgres://127.0.0.1:5432/logs');
  });

  it('hides everything before the last @ of a URL it cannot parse', () => {
    expect(redactUrl('postgres://ann:s3cr3t@127.0.0.1:notaport/db')).toBe('postgres://***@127.0.0.1:notaport/db');
  });

  // A password holding an unencoded '/' ends the URL's authority early: the
  // parser sees no user or password at all (or fails), and the text after it
  // still holds the password.
  it('hides a password holding an unencoded slash', () => {
    for (const url of ['postgres://ann:s3/cr3t@127.0.0.1:5432/db', 'postgres://ann:5432/cr3t@127.0.0.1/db']) {
      const shown = redactUrl(url);
      expect(shown).not.toContain('cr3t');
      expect(shown).toBe(`postgres://***@${url.slice(url.lastIndexOf('@') + 1)}`);
    }
  });

  it('the usage errors of a malformed URL never show its password', () => {
    for (const url of ['postgres://ann:s3/cr3t@127.0.0.1:5432/db', 'postgres://ann:5432/cr3t@127.0.0.1/db', 'postgres://ann:s3cr3t@h:1/']) {
      expect(() => parsePostgresUrl(url)).toThrow(UsageError);
      try {
        parsePostgresUrl(url);
      } catch (err) {
        expect((err as Error).message).not.toMatch(/cr3t/);
      }
    }
  });
});
