/**
 * Workers stop paying when nearly every record brings a new key (request ids, unique lines): each
 * worker inserts its own copy of every key (a new key costs several times a known one), and the
 * reading thread inserts each one once more when it merges the workers' tables at a commit, so
 * the merge alone costs about what counting on one thread would, and memory holds every key
 * twice. Measured after 500k records counted by workers (two of them): 50k distinct words hold
 * 0.12 keys per record and 1M distinct words 0.29, and threads are faster on both; a `--key line`
 * count of unique lines holds 1.
 */
const MAX_KEYS_PER_RECORD = 0.6;
/** Fewer records tell too little about the keys. */
const JUDGED_AFTER_RECORDS = 500_000;

/**
 * Whether counting on threads pays for this run's input: judged once, when
 * the threads have counted enough records, from the keys their tables hold.
 * Where a record is counted never changes the results.
 */
export class ThreadPayoff {
  private records = 0;
  /** The keys each thread's table (of the window of its latest chunk) holds, by thread. */
  private readonly keysHeld: number[] = [];
  private pays = true;

  get paysOff(): boolean {
    return this.pays;
  }

  /** Thread `thread` counted `records` more; its table of the chunk's window holds `keys`. */
  counted(thread: number, records: number, keys: number): void {
    const before = this.records;
    this.records += records;
    this.keysHeld[thread] = keys;
    if (before < JUDGED_AFTER_RECORDS && this.records >= JUDGED_AFTER_RECORDS) {
      let held = 0;
      for (const k of this.keysHeld) held += k ?? 0;
      this.pays = held <= this.records * MAX_KEYS_PER_RECORD;
    }
  }
}
