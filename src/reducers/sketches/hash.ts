/**
 * xxHash64 (seed 0) of a string's UTF-8 bytes, with 32-bit integer
 * arithmetic (no BigInt, no allocation): the hash of a distinct value. Chosen
 * for distinct counting because it is fast, passes SMHasher, and is a
 * published function any other tool reproduces (`xxhsum -H64` over the
 * value's bytes); a 64-bit hash keeps collisions negligible far beyond the
 * cardinalities a window holds (the exact sets store the hashes).
 *
 * The result is left in HASH[0] (upper 32 bits) and HASH[1] (lower 32 bits),
 * as int32: typed-array slots, so no number is boxed per call. It is
 * persisted (inside distinct sketches) and must never change.
 */
export const HASH = new Int32Array(2);

// The primes of xxHash64, as high and low 32-bit halves.
const P1H = 0x9e3779b1 | 0;
const P1L = 0x85ebca87 | 0;
const P2H = 0xc2b2ae3d | 0;
const P2L = 0x27d4eb4f | 0;
const P3H = 0x165667b1 | 0;
const P3L = 0x9e3779f9 | 0;
const P4H = 0x85ebca77 | 0;
const P4L = 0xc2b2ae63 | 0;
const P5H = 0x27d4eb2f | 0;
const P5L = 0x165667c5 | 0;

/** The result register of mul64 and add64: [hi, lo]. */
const R = new Int32Array(2);

/** (aH:aL * bH:bL) mod 2^64 into R. */
function mul64(aH: number, aL: number, bH: number, bL: number): void {
  // The full product of the low halves from 16-bit pieces (each partial product is exact in a double).
  const a0 = aL & 0xffff;
  const a1 = aL >>> 16;
  const b0 = bL & 0xffff;
  const b1 = bL >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  R[1] = ((mid & 0xffff) << 16) | (p00 & 0xffff);
  R[0] = ((a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0) + Math.imul(aH, bL) + Math.imul(aL, bH);
}

/** (aH:aL + bH:bL) mod 2^64 into R. */
function add64(aH: number, aL: number, bH: number, bL: number): void {
  const lo = (aL >>> 0) + (bL >>> 0);
  R[1] = lo;
  R[0] = aH + bH + (lo > 0xffffffff ? 1 : 0);
}

/** rotl(h:l, r) for 0 < r < 32, into R. */
function rotl64(h: number, l: number, r: number): void {
  R[0] = (h << r) | (l >>> (32 - r));
  R[1] = (l << r) | (h >>> (32 - r));
}

/** round(acc, input) = rotl(acc + input * P2, 31) * P1, into R. */
function round(accH: number, accL: number, inH: number, inL: number): void {
  mul64(inH, inL, P2H, P2L);
  add64(accH, accL, R[0]!, R[1]!);
  rotl64(R[0]!, R[1]!, 31);
  mul64(R[0]!, R[1]!, P1H, P1L);
}

let scratch = new Uint8Array(256);

/** Hashes `text` as UTF-8 (a lone surrogate as U+FFFD, as Buffer.from does) into HASH. */
export function hashString(text: string): void {
  hashBytes(scratch, utf8Into(text));
}

/** Writes `text`'s UTF-8 bytes into `scratch` (grown when needed); returns their count. */
function utf8Into(text: string): number {
  const length = text.length;
  if (scratch.length < length * 3) scratch = new Uint8Array(Math.max(length * 3, scratch.length * 2));
  const out = scratch;
  let n = 0;
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >> 18);
        out[n++] = 0x80 | ((c >> 12) & 0x3f);
        out[n++] = 0x80 | ((c >> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
      } else {
        out[n++] = 0xef;
        out[n++] = 0xbf;
        out[n++] = 0xbd;
      }
    } else {
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

function i32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/** xxHash64 (seed 0) of b[0, n) into HASH. */
export function hashBytes(b: Uint8Array, n: number): void {
  let i = 0;
  let hH: number;
  let hL: number;
  if (n >= 32) {
    add64(P1H, P1L, P2H, P2L);
    let v1H = R[0]!;
    let v1L = R[1]!;
    let v2H = P2H;
    let v2L = P2L;
    let v3H = 0;
    let v3L = 0;
    add64(~P1H, ~P1L, 0, 1); // -P1
    let v4H = R[0]!;
    let v4L = R[1]!;
    do {
      round(v1H, v1L, i32(b, i + 4), i32(b, i));
      v1H = R[0]!;
      v1L = R[1]!;
      round(v2H, v2L, i32(b, i + 12), i32(b, i + 8));
      v2H = R[0]!;
      v2L = R[1]!;
      round(v3H, v3L, i32(b, i + 20), i32(b, i + 16));
      v3H = R[0]!;
      v3L = R[1]!;
      round(v4H, v4L, i32(b, i + 28), i32(b, i + 24));
      v4H = R[0]!;
      v4L = R[1]!;
      i += 32;
    } while (i + 32 <= n);
    rotl64(v1H, v1L, 1);
    hH = R[0]!;
    hL = R[1]!;
    rotl64(v2H, v2L, 7);
    add64(hH, hL, R[0]!, R[1]!);
    hH = R[0]!;
    hL = R[1]!;
    rotl64(v3H, v3L, 12);
    add64(hH, hL, R[0]!, R[1]!);
    hH = R[0]!;
    hL = R[1]!;
    rotl64(v4H, v4L, 18);
    add64(hH, hL, R[0]!, R[1]!);
    hH = R[0]!;
    hL = R[1]!;
    for (let lane = 0; lane < 4; lane++) {
      const vH = lane === 0 ? v1H : lane === 1 ? v2H : lane === 2 ? v3H : v4H;
      const vL = lane === 0 ? v1L : lane === 1 ? v2L : lane === 2 ? v3L : v4L;
      // h = (h ^ round(0, v)) * P1 + P4
      round(0, 0, vH, vL);
      mul64(hH ^ R[0]!, hL ^ R[1]!, P1H, P1L);
      add64(R[0]!, R[1]!, P4H, P4L);
      hH = R[0]!;
      hL = R[1]!;
    }
  } else {
    hH = P5H;
    hL = P5L;
  }
  add64(hH, hL, 0, n);
  hH = R[0]!;
  hL = R[1]!;
  for (; i + 8 <= n; i += 8) {
    // h = rotl(h ^ round(0, lane), 27) * P1 + P4
    round(0, 0, i32(b, i + 4), i32(b, i));
    rotl64(hH ^ R[0]!, hL ^ R[1]!, 27);
    mul64(R[0]!, R[1]!, P1H, P1L);
    add64(R[0]!, R[1]!, P4H, P4L);
    hH = R[0]!;
    hL = R[1]!;
  }
  if (i + 4 <= n) {
    // h = rotl(h ^ (u32 * P1), 23) * P2 + P3
    mul64(0, i32(b, i), P1H, P1L);
    rotl64(hH ^ R[0]!, hL ^ R[1]!, 23);
    mul64(R[0]!, R[1]!, P2H, P2L);
    add64(R[0]!, R[1]!, P3H, P3L);
    hH = R[0]!;
    hL = R[1]!;
    i += 4;
  }
  for (; i < n; i++) {
    // h = rotl(h ^ (byte * P5), 11) * P1
    mul64(0, b[i]!, P5H, P5L);
    rotl64(hH ^ R[0]!, hL ^ R[1]!, 11);
    mul64(R[0]!, R[1]!, P1H, P1L);
    hH = R[0]!;
    hL = R[1]!;
  }
  // Avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32.
  mul64(hH, hL ^ (hH >>> 1), P2H, P2L);
  hH = R[0]!;
  hL = R[1]!;
  mul64(hH ^ (hH >>> 29), hL ^ ((hL >>> 29) | (hH << 3)), P3H, P3L);
  HASH[0] = R[0]!;
  HASH[1] = R[1]! ^ R[0]!;
}
