/** Receives one key per record; PartialTable implements it. */
export interface KeyCounter {
  increment(key: string): void;
}

/** Running totals a caller keeps across calls. */
export interface WordTally {
  words: number;
  lines: number;
}

/**
 * Counts every run of non-whitespace (ASCII space, tab, CR, LF, VT, FF) in
 * text into `counter`, as awk splits fields, and adds how many words and
 * lines it found to `tally`. One monomorphic call per word and no allocation
 * beyond the word itself.
 */
export function countWords(text: string, counter: KeyCounter, tally: WordTally): void {
  const n = text.length;
  let words = 0;
  let lines = 0;
  let i = 0;
  while (i < n) {
    let c = text.charCodeAt(i);
    while (c === 32 || (c >= 9 && c <= 13)) {
      if (c === 10) lines++;
      if (++i >= n) break;
      c = text.charCodeAt(i);
    }
    if (i >= n) break;
    const start = i;
    // Stop at n rather than read past it (an out-of-range read would deoptimize the loop).
    for (;;) {
      if (++i >= n) break;
      c = text.charCodeAt(i);
      if (c === 32 || (c >= 9 && c <= 13)) break;
    }
    counter.increment(text.slice(start, i));
    words++;
  }
  // A final line without its newline is a line too.
  if (n > 0 && text.charCodeAt(n - 1) !== 10) lines++;
  tally.words += words;
  tally.lines += lines;
}
