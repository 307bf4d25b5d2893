#!/usr/bin/env node
// How late processing-time windows are published: runs `statesync count --window 1s --format tsv`
// and timestamps the first printed row of each window against the window's end.
//
//   node bench/window-delay.mjs rate THREADS MB_PER_S KEYS SECONDS   # stdin fed at a steady rate
//   node bench/window-delay.mjs flood THREADS FILE...                 # cat FILE... | statesync count
//
// Prints min, median and max over the windows (the first and last, partial, are left out when fed
// at a rate; the last when flooded). Plain Node ESM; needs `npm run build` first.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const STATESYNC = fileURLToPath(new URL('../bin/statesync.js', import.meta.url));
const [mode, threads, ...rest] = process.argv.slice(2);
if ((mode !== 'rate' && mode !== 'flood') || threads === undefined || rest.length === 0) {
  console.error('usage: window-delay.mjs rate THREADS MB_PER_S KEYS SECONDS | flood THREADS FILE...');
  process.exit(2);
}
const count = [process.execPath, STATESYNC, 'count', '--window', '1s', '--format', 'tsv', '--threads', threads];
const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
const child =
  mode === 'rate'
    ? spawn(count[0], count.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn('sh', ['-c', `cat ${rest.map(quote).join(' ')} | ${count.map(quote).join(' ')}`], { stdio: ['ignore', 'pipe', 'inherit'] });

/** Window end -> ms between it and its first row. */
const delays = new Map();
let pending = '';
child.stdout.on('data', (data) => {
  const now = Date.now();
  pending += data;
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const end = Date.parse(pending.slice(0, nl).split('\t')[1]);
    pending = pending.slice(nl + 1);
    if (!Number.isNaN(end) && !delays.has(end)) delays.set(end, now - end);
  }
});

if (mode === 'rate') {
  const [mbPerSecond, keys, seconds] = rest.map(Number);
  const words = Array.from({ length: keys }, (_, i) => `w${i.toString(36)}`);
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  // Every 10 ms, a block of 8-word lines; 20 different blocks, cycled.
  const blockBytes = (mbPerSecond * 1e6) / 100;
  const blocks = Array.from({ length: 20 }, () => {
    const lines = [];
    for (let n = 0; n < blockBytes; ) {
      const line = Array.from({ length: 8 }, () => words[Math.floor(random() * words.length)]).join(' ');
      lines.push(line);
      n += line.length + 1;
    }
    return `${lines.join('\n')}\n`;
  });
  let i = 0;
  const timer = setInterval(() => child.stdin.write(blocks[i++ % blocks.length]), 10);
  setTimeout(() => {
    clearInterval(timer);
    child.stdin.end();
  }, seconds * 1000);
}

child.on('exit', () => {
  const all = [...delays.values()];
  const whole = (mode === 'rate' ? all.slice(1, -1) : all.slice(0, -1)).sort((a, b) => a - b);
  const label = mode === 'rate' ? `${rest[0]} MB/s over ${rest[1]} keys` : 'flooded';
  console.log(
    whole.length === 0
      ? `threads ${threads}, ${label}: no whole window`
      : `threads ${threads}, ${label}: ${whole.length} windows, published ${whole[0]}-${whole.at(-1)} ms after their end (median ${whole[whole.length >> 1]})`,
  );
});
