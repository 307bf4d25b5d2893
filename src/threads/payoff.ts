/**
 * Workers stop paying when nearly every record brings a new key (request ids, unique lines): each
 * worker inserts its own copy of every key (a new key costs several times a known one), and the
 * reading thread inserts each one once more when it merges the workers' tables at a commit, so
 * the merge alone costs about what counting on one thread would, and memory holds every key
 * twice. Measured after 500k records counted by workers (two of them): 50k distinct words make
 * 0.12 inserts per record and 1M distinct words 0.29, and threads are faster on both; a `--key line`
 * count of unique lines makes 1. Inserts, not keys held: a table other than a word count's is
 * handed over whole at each commit and starts empty again, so frequent commits insert the same
 * keys again and again, and that is a cost too.
 */
const MAX_INSERTS_PER_RECORD = 0.6;
/** Fewer records tell too little about the keys. */
const JUDGED_AFTER_RECORDS = 500_000;

/**
 * Whether counting on threads pays for this run's input: judged once, when
 * the threads have counted enough records, from the keys they inserted.
 * Where a record is counted never changes the results.
 */
export class ThreadPayoff {
  private records = 0;
  private inserted = 0;
  private pays = true;

  get paysOff(): boolean {
    return this.pays;
  }

  /** A thread counted `records` more, inserting `inserted` keys into its tables. */
  counted(records: number, inserted: number): void {
    const before = this.records;
    this.records += records;
    this.inserted += inserted;
    if (before < JUDGED_AFTER_RECORDS && this.records >= JUDGED_AFTER_RECORDS) {
      this.pays = this.inserted <= this.records * MAX_INSERTS_PER_RECORD;
    }
  }
}
