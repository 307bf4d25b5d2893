/**
 * A random id in UUID v4 layout, for this process as a worker and for a run's
 * stdin. Made from Math.random, not node:crypto: loading crypto costs ~6 ms of
 * a short run's ~110 ms start, and these ids must be unique, not secret. V8
 * seeds each thread's generator with 64 bits of the system's entropy (unless
 * node runs with --random-seed), so two runs' ids collide about as rarely as
 * two random 64-bit numbers: never, in practice.
 */
export function randomId(): string {
  const words = [0, 1, 2, 3].map(() => (Math.random() * 0x1_0000_0000) >>> 0);
  // Version 4 in the 13th hex digit, variant 10 in the 17th, as RFC 9562 lays them out.
  words[1] = ((words[1]! & 0xffff0fff) | 0x4000) >>> 0;
  words[2] = ((words[2]! & 0x3fffffff) | 0x80000000) >>> 0;
  const hex = words.map((w) => w.toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
