import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { escapeBytes, formatReject } from '../../src/sinks/rejects.js';
import { intBelow, seededRandom } from '../support/prng.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** Undoes escapeBytes: what a script reading the --reject-output file does. */
function unescape(text: string): Buffer {
  const parts: Buffer[] = [];
  const re = /\\(?:x([0-9a-f]{2})|(.))|[^\\]+/gsu;
  for (const m of text.matchAll(re)) {
    if (m[1] !== undefined) parts.push(Buffer.from([parseInt(m[1], 16)]));
    else if (m[2] !== undefined) parts.push(Buffer.from({ t: '\t', n: '\n', r: '\r', '\\': '\\' }[m[2]]!));
    else parts.push(Buffer.from(m[0]));
  }
  return Buffer.concat(parts);
}

describe('escapeBytes: a rejected line as one field of valid UTF-8 text', () => {
  it.each([
    ['plain text', Buffer.from('plain text'), 'plain text'],
    ['tab, CR, LF and backslash by name, as in tsv keys', Buffer.from('a\tb\rc\nd\\e'), 'a\\tb\\rc\\nd\\\\e'],
    ['NUL as \\x00', Buffer.from('nul\x00here'), 'nul\\x00here'],
    ['valid multi-byte characters as they are', Buffer.from('café 漢字 😀'), 'café 漢字 😀'],
    ['other control characters as they are', Buffer.from('\x01\x1b[0m\x7f'), '\x01\x1b[0m\x7f'],
    ['a byte that is no UTF-8 at all', hex('61 ff 62 fe'), 'a\\xffb\\xfe'],
    ['a lone continuation byte', hex('80 61'), '\\x80a'],
    ['an overlong form', hex('c0 80 c1 bf'), '\\xc0\\x80\\xc1\\xbf'],
    ['a UTF-16 surrogate', hex('ed a0 80'), '\\xed\\xa0\\x80'],
    ['beyond U+10FFFF', hex('f4 90 80 80 f5'), '\\xf4\\x90\\x80\\x80\\xf5'],
    ['a character cut short, in the middle and at the end', hex('e6 97 61 e6 97'), '\\xe6\\x97a\\xe6\\x97'],
    ['a valid character right after a bad byte', hex('ff c3 a9'), '\\xffé'],
  ])('%s', (_what, bytes, expected) => {
    expect(escapeBytes(bytes)).toBe(expected);
  });

  it('is always valid UTF-8 without NUL, tab, CR or LF, and unescapes to the very bytes, for random bytes', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 500; round++) {
      const bytes = Buffer.alloc(intBelow(random, 40));
      for (let i = 0; i < bytes.length; i++) {
        // Mostly bytes around the interesting boundaries of UTF-8.
        bytes[i] = random() < 0.5 ? intBelow(random, 256) : [0x00, 0x09, 0x0a, 0x0d, 0x5c, 0x61, 0x80, 0xbf, 0xc3, 0xe6, 0xf0, 0x9f][intBelow(random, 12)]!;
      }
      const text = escapeBytes(bytes);
      expect(isUtf8(Buffer.from(text))).toBe(true);
      expect(text).not.toMatch(/[\x00\t\r\n]/);
      expect(unescape(text).equals(bytes), `round ${round}: ${bytes.toString('hex')}`).toBe(true);
    }
  });
});

describe('formatReject: one line of the --reject-output file', () => {
  it('is reason, source, byte offset and the escaped line, tab-separated, ending in a newline', () => {
    expect(formatReject('invalid UTF-8', 'logs/app.log', 1234, hex('62 61 64 09 ff'))).toBe('invalid UTF-8\tlogs/app.log\t1234\tbad\\t\\xff\n');
    expect(formatReject('missing field', 'stdin', 0, Buffer.from('lonely'))).toBe('missing field\tstdin\t0\tlonely\n');
  });

  it('escapes the source too, so a file name with a tab still gives four fields', () => {
    expect(formatReject('bad value', 'odd\tname', 7, Buffer.from('k x')).split('\t')).toEqual(['bad value', 'odd\\tname', '7', 'k x\n']);
  });
});
