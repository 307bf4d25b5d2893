import { isUtf8 } from 'node:buffer';
import type { RejectReason } from '../records/framer.js';

/**
 * One line of the --reject-output file: reason, source, byte offset of the
 * line in that source, and the line, tab-separated. Escaped so the file is
 * always valid UTF-8 text with one rejected record per line, whatever the
 * input held.
 */
export function formatReject(reason: RejectReason, source: string, offset: number, line: Buffer | string): string {
  return `${reason}\t${escapeText(source)}\t${offset}\t${typeof line === 'string' ? escapeText(line) : escapeBytes(line)}\n`;
}

/** As escapeBytes, for a string: it holds only valid characters, so there is less to look for. */
function escapeText(text: string): string {
  return /[\t\n\r\\\0]/.test(text) ? escapeBytes(Buffer.from(text)) : text;
}

const NAMED: Readonly<Record<number, string>> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x5c: '\\\\' };

/** Tab, LF, CR and backslash as in tsv keys; NUL and bytes that are not UTF-8 as \xHH. */
export function escapeBytes(bytes: Buffer): string {
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : utf8SequenceLength(bytes, i);
    const escape = b === 0 || length === 0 ? `\\x${hex(b)}` : NAMED[b];
    if (escape === undefined) {
      i += length;
      continue;
    }
    out += bytes.toString('utf8', copied, i) + escape;
    i++;
    copied = i;
  }
  return out + bytes.toString('utf8', copied, bytes.length);
}

/** The length of the well-formed UTF-8 character at bytes[i] (a non-ASCII lead byte), or 0. */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const b = bytes[i]!;
  const length = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  // isUtf8 rules out the rest: bad continuation bytes, overlong forms, surrogates, beyond U+10FFFF.
  return length > 0 && i + length <= bytes.length && isUtf8(bytes.subarray(i, i + length)) ? length : 0;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}
