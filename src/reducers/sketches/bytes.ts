/**
 * The byte primitives of the sketch encodings: unsigned LEB128 varints (up to
 * 2^53, by arithmetic, so counts beyond 2^32 survive), zigzag for signed ones,
 * and little-endian float64 and uint32.
 */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  varint(n: number): void {
    this.room(8);
    let v = n;
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /** A signed integer (int32 range) as a zigzag varint. */
  zigzag(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  float64(x: number): void {
    this.room(8);
    this.view.setFloat64(this.length, x, true);
    this.length += 8;
  }

  uint32(x: number): void {
    this.room(4);
    this.view.setUint32(this.length, x >>> 0, true);
    this.length += 4;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** The bytes written (a view: valid until the next write). */
  written(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** Scratch for float64 reads: one shared pair of views, so a read allocates nothing. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);

/**
 * Reads what ByteWriter wrote, within [at, end); every read past `end` throws
 * (a damaged blob never reads as a sketch). Reusable: `reset` points it at
 * another range, so merging many sketches allocates no reader per sketch.
 */
export class ByteReader {
  private buf: Uint8Array;
  at: number;
  end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.at = start;
    this.end = end;
  }

  reset(buf: Uint8Array, start: number, end: number): this {
    this.buf = buf;
    this.at = start;
    this.end = end;
    return this;
  }

  private need(n: number): void {
    if (this.at + n > this.end) throw new Error('sketch data is truncated');
  }

  byte(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Error('sketch data holds an over-long varint');
    }
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  float64(): number {
    this.need(8);
    // Little-endian, as every platform Node runs on stores a Float64Array.
    F64_BYTES.set(this.buf.subarray(this.at, this.at + 8));
    this.at += 8;
    return F64[0]!;
  }

  uint32(): number {
    this.need(4);
    const b = this.buf;
    const i = this.at;
    this.at += 4;
    return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
  }

  get done(): boolean {
    return this.at === this.end;
  }
}
