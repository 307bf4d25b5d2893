/**
 * Records per second from successive reads of a job's committed record
 * counter (status: `records`): nothing in the database keeps a rate, so `top`
 * derives it from what it reads, once a refresh. Workers commit about once
 * a second, so a single interval between two reads may hold two commits or
 * none; `now` averages over the last few seconds.
 */
export class RateHistory {
  private readonly samples: Array<{ at: number; total: number }> = [];

  constructor(
    /** How far back `now()` looks. */
    private readonly nowSpanMs = 5_000,
    /** How far back samples are kept (the sparkline's minute). */
    private readonly keepMs = 60_000,
  ) {}

  /** A read of the counter at time `at`. A counter that went down (a restored snapshot) starts the history again. */
  add(at: number, total: number): void {
    const last = this.samples.at(-1);
    if (last !== undefined && (total < last.total || at <= last.at)) {
      if (at <= last.at) return;
      this.samples.length = 0;
    }
    this.samples.push({ at, total });
    while (this.samples.length > 2 && this.samples[0]!.at < at - this.keepMs) this.samples.shift();
  }

  /** Records per second over the last few seconds; null before two samples. */
  now(): number | null {
    const last = this.samples.at(-1);
    if (last === undefined) return null;
    const from = this.samples.find((s) => s.at >= last.at - this.nowSpanMs) ?? last;
    const first = from === last ? this.samples.at(-2) : from;
    if (first === undefined || first === last) return null;
    return ((last.total - first.total) * 1000) / (last.at - first.at);
  }

  /** Records per second between successive samples, oldest first. */
  history(): number[] {
    const rates: number[] = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1]!;
      const b = this.samples[i]!;
      rates.push(((b.total - a.total) * 1000) / (b.at - a.at));
    }
    return rates;
  }
}
