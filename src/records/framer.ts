import { isUtf8 } from 'node:buffer';

/**
 * Why a record was not counted, in the order summaries list them ('line too
 * long' last, so the hint to raise --max-line-bytes ends the summary).
 */
export const REJECT_REASONS = [
  'invalid UTF-8',
  'NUL byte',
  'invalid JSON',
  'missing field',
  'no match',
  'non-scalar value',
  'bad value',
  'bad time',
  'empty id',
  'line too long',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** How many bytes of a line too long a framer keeps for --reject-output (at most --max-line-bytes). */
export const LONG_LINE_PREFIX_BYTES = 1024;

export interface FramerOutput {
  /**
   * A run of complete, valid lines in buf[start, end): each ends with "\n"
   * (possibly "\r\n"), except a final unterminated line at end of input.
   * `offset` is where buf[start] lies in the source.
   */
  lines(buf: Buffer, start: number, end: number, offset: number): void;
  /**
   * A rejected line that starts at `offset` in the source; buf[start, end) is
   * its content without the line ending, or for a line too long only its
   * first bytes (none unless the framer was built with keepRejectedBytes).
   */
  reject(reason: RejectReason, offset: number, buf: Buffer, start: number, end: number): void;
}

const NO_BYTES = Buffer.alloc(0);

const NEWLINE = 10;

/**
 * Cuts a byte stream into lines without ever buffering more than
 * `maxLineBytes` of one line, and tracks the byte offset just past the last
 * line it has handed out or rejected: that is the position a restart resumes at.
 */
export class LineFramer {
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** Bytes of an over-long line skipped so far; -1 when not skipping one. */
  private skipped = -1;
  /** The first bytes of the over-long line being skipped, when asked to keep them. */
  private skippedPrefix = NO_BYTES;
  /** How many bytes of an over-long line reject() gets; 0 unless rejected lines are written out. */
  private readonly prefixBytes: number;
  private atStart: boolean;
  /**
   * Offset (from the start of the source) of the first byte not yet fully
   * handled. It never points inside a line: while an over-long line is being
   * skipped it stays at that line's start, so a restart never reads the
   * line's tail as a record of its own.
   */
  offset: number;

  constructor(
    private readonly output: FramerOutput,
    private readonly maxLineBytes: number,
    startOffset = 0,
    keepRejectedBytes = false,
  ) {
    this.offset = startOffset;
    this.atStart = startOffset === 0;
    this.prefixBytes = keepRejectedBytes ? Math.min(LONG_LINE_PREFIX_BYTES, maxLineBytes) : 0;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const n = chunk.length;
    if (this.skipped >= 0) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) {
        this.skipped += n - pos;
        return;
      }
      this.finishSkipping(nl + 1 - pos);
      pos = nl + 1;
    }
    if (this.carryBytes > 0) {
      const nl = chunk.indexOf(NEWLINE, pos);
      if (nl < 0) {
        this.holdPartial(chunk, pos);
        return;
      }
      this.carry.push(chunk.subarray(pos, nl + 1));
      const line = Buffer.concat(this.carry, this.carryBytes + nl + 1 - pos);
      this.carry = [];
      this.carryBytes = 0;
      this.emit(line, 0, line.length);
      pos = nl + 1;
    }
    const lastNl = chunk.lastIndexOf(NEWLINE);
    if (lastNl >= pos) {
      this.emit(chunk, pos, lastNl + 1);
      pos = lastNl + 1;
    }
    if (pos < n) this.holdPartial(chunk, pos);
  }

  /** Bytes after `offset` that belong to a line not finished yet (held, or skipped as too long). */
  get pendingBytes(): number {
    return this.carryBytes + Math.max(0, this.skipped);
  }

  /** End of input: a final line without a newline still counts. */
  end(): void {
    if (this.carryBytes > 0) {
      const line = Buffer.concat(this.carry, this.carryBytes);
      this.carry = [];
      this.carryBytes = 0;
      this.emit(line, 0, line.length);
    }
    if (this.skipped >= 0) this.finishSkipping(0);
  }

  /** The over-long line ended (`tail` more bytes, newline included): count it once and move past it. */
  private finishSkipping(tail: number): void {
    this.output.reject('line too long', this.offset, this.skippedPrefix, 0, this.skippedPrefix.length);
    this.offset += this.skipped + tail;
    this.skipped = -1;
    this.skippedPrefix = NO_BYTES;
  }

  private holdPartial(chunk: Buffer, pos: number): void {
    const size = chunk.length - pos;
    // One byte of slack: a CR held here may turn out to be part of the line's CRLF ending.
    if (this.carryBytes + size > this.maxLineBytes + 1) {
      // Give up on this line now rather than buffer it whole; skip to its end.
      this.atStart = false;
      this.skipped = this.carryBytes + size;
      // More than prefixBytes are at hand: the line is already longer than --max-line-bytes.
      if (this.prefixBytes > 0) this.skippedPrefix = Buffer.concat([...this.carry, chunk.subarray(pos)], this.prefixBytes);
      this.carry = [];
      this.carryBytes = 0;
      return;
    }
    // Copy: the source may reuse its chunk buffers.
    this.carry.push(Buffer.from(chunk.subarray(pos)));
    this.carryBytes += size;
  }

  private emit(buf: Buffer, from: number, end: number): void {
    let start = from;
    if (this.atStart) {
      this.atStart = false;
      // A UTF-8 byte order mark is an encoding marker, not part of the first word. The
      // first line arrives here whole, however the chunks were cut.
      if (end - start >= 3 && buf[start] === 0xef && buf[start + 1] === 0xbb && buf[start + 2] === 0xbf) {
        start += 3;
        this.offset += 3;
        if (start === end) return;
      }
    }
    const nul = buf.indexOf(0, start);
    const clean =
      (nul < 0 || nul >= end) &&
      isUtf8(buf.subarray(start, end)) &&
      (end - start <= this.maxLineBytes || !this.hasLongLine(buf, start, end));
    if (clean) {
      this.output.lines(buf, start, end, this.offset);
    } else {
      this.emitValidLinesOnly(buf, start, end);
    }
    this.offset += end - start;
  }

  private hasLongLine(buf: Buffer, start: number, end: number): boolean {
    let lineStart = start;
    while (lineStart < end) {
      const nl = buf.indexOf(NEWLINE, lineStart);
      const lineEnd = nl < 0 || nl >= end ? end : nl + 1;
      if (lineEnd - lineStart > this.maxLineBytes && this.classify(buf, lineStart, lineEnd) !== null) return true;
      lineStart = lineEnd;
    }
    return false;
  }

  /** Slow path, only for regions holding at least one bad line: hand out the good lines around it. */
  private emitValidLinesOnly(buf: Buffer, start: number, end: number): void {
    let runStart = start;
    let lineStart = start;
    while (lineStart < end) {
      const nl = buf.indexOf(NEWLINE, lineStart);
      const lineEnd = nl < 0 || nl >= end ? end : nl + 1;
      const problem = this.classify(buf, lineStart, lineEnd);
      if (problem !== null) {
        if (lineStart > runStart) this.output.lines(buf, runStart, lineStart, this.offset + runStart - start);
        const contentEnd = problem === 'line too long' ? lineStart + this.prefixBytes : contentEndOf(buf, lineStart, lineEnd);
        this.output.reject(problem, this.offset + lineStart - start, buf, lineStart, contentEnd);
        runStart = lineEnd;
      }
      lineStart = lineEnd;
    }
    if (end > runStart) this.output.lines(buf, runStart, end, this.offset + runStart - start);
  }

  private classify(buf: Buffer, start: number, end: number): RejectReason | null {
    const contentEnd = contentEndOf(buf, start, end);
    if (contentEnd - start > this.maxLineBytes) return 'line too long';
    const nul = buf.indexOf(0, start);
    if (nul >= 0 && nul < contentEnd) return 'NUL byte';
    if (!isUtf8(buf.subarray(start, contentEnd))) return 'invalid UTF-8';
    return null;
  }
}

/** Where a line's content ends: before its LF or CRLF. */
function contentEndOf(buf: Buffer, start: number, end: number): number {
  let contentEnd = end;
  if (contentEnd > start && buf[contentEnd - 1] === NEWLINE) contentEnd--;
  if (contentEnd > start && buf[contentEnd - 1] === 13) contentEnd--;
  return contentEnd;
}
