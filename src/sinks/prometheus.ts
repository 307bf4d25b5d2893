import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunMetrics } from '../model.js';

/** The commit-duration buckets, in seconds: an SQLite commit takes about a millisecond, a remote PostgreSQL one tens. */
const COMMIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A run's metrics in the Prometheus text exposition format (prom-client does the format). */
export interface RunExposition {
  readonly contentType: string;
  /** The exposition as of now: the run's counters are read here, once per scrape. */
  text(): Promise<string>;
  /** One applied commit and how long its store transaction took. */
  commitTimed(seconds: number): void;
  /** One window published (final or provisional). */
  published(final: boolean): void;
}

/**
 * The metrics of one stream run. Counters and gauges are filled from
 * `read()` when scraped (reset, then set), never bumped per record; the
 * commit histogram and the publication counter are told once per commit and
 * per publication. The job is the label `job_name`, since Prometheus sets
 * `job` itself on every target (and would rename ours `exported_job`).
 * Node's and the process's own metrics (CPU, memory, event loop lag, GC)
 * come with them, under prom-client's standard names.
 */
export function runExposition(job: string, read: () => RunMetrics): RunExposition {
  const registry = new Registry();
  const registers = [registry];
  let now: RunMetrics | null = null;
  const run = () => (now ??= read());

  counter('statesync_records_total', 'Records counted from each input by this worker (words for a word count).', ['source'], (m) =>
    m.sources.map((s) => [{ source: s.id }, s.records]),
  );
  counter('statesync_bytes_total', 'Bytes read from each input by this worker (decompressed text for gzip input).', ['source'], (m) =>
    m.sources.map((s) => [{ source: s.id }, s.bytes]),
  );
  counter('statesync_rejected_total', 'Records rejected, by reason.', ['reason'], (m) =>
    [...m.rejected].map(([reason, n]) => [{ reason: reasonLabel(reason) }, n]),
  );
  counter('statesync_late_total', 'Records for windows already finalized: counted, never applied.', [], (m) => [[{}, m.late]]);
  counter('statesync_duplicates_total', 'Records skipped as already applied (--dedupe).', [], (m) => [[{}, m.duplicates]]);
  counter('statesync_commits_total', 'Batches committed to the state store.', [], (m) => [[{}, m.commits]]);
  counter('statesync_connections_refused_total', 'Connections refused beyond --max-connections, per network input.', ['source'], (m) =>
    m.sources.filter((s) => s.refused !== null).map((s) => [{ source: s.id }, s.refused!]),
  );
  gauge('statesync_connections', 'Clients connected now, per network input.', ['source'], (m) =>
    m.sources.filter((s) => s.clients !== null).map((s) => [{ source: s.id }, s.clients!]),
  );
  gauge('statesync_watermark_seconds', "This worker's watermark (Unix time): windows ending by it hold all of its data.", [], (m) =>
    m.watermark === null ? [] : [[{}, m.watermark / 1000]],
  );
  gauge('statesync_open_windows', 'Windows this worker holds open in memory.', [], (m) => [[{}, m.openWindows]]);

  const commits = new Histogram({
    name: 'statesync_commit_duration_seconds',
    help: 'How long each commit transaction took in the state store.',
    labelNames: ['job_name'],
    buckets: COMMIT_BUCKETS,
    registers,
  });
  const publications = new Counter({
    name: 'statesync_publications_total',
    help: 'Windows published by this worker (each revision once), final or provisional.',
    labelNames: ['job_name', 'final'],
    registers,
  });
  for (const final of ['true', 'false']) publications.inc({ job_name: job, final }, 0);
  commits.zero({ job_name: job });
  collectDefaultMetrics({ register: registry });

  return {
    contentType: registry.contentType,
    async text() {
      // One reading of the run serves every metric of this scrape.
      now = null;
      try {
        return await registry.metrics();
      } finally {
        now = null;
      }
    },
    commitTimed: (seconds) => commits.observe({ job_name: job }, seconds),
    published: (final) => publications.inc({ job_name: job, final: String(final) }),
  };

  type Samples = Array<[Record<string, string>, number]>;

  function counter(name: string, help: string, labels: string[], samples: (m: RunMetrics) => Samples): void {
    new Counter({
      ...scraped(name, help, labels),
      collect() {
        this.reset();
        for (const [l, value] of labelled(samples)) this.inc(l, value);
      },
    });
  }

  function gauge(name: string, help: string, labels: string[], samples: (m: RunMetrics) => Samples): void {
    new Gauge({
      ...scraped(name, help, labels),
      collect() {
        this.reset();
        for (const [l, value] of labelled(samples)) this.set(l, value);
      },
    });
  }

  /** What a counter and a gauge filled at scrape time are both made of. */
  function scraped(name: string, help: string, labels: string[]) {
    return { name, help, labelNames: ['job_name', ...labels], registers };
  }

  /** This scrape's samples, each under the job's label too. */
  function labelled(samples: (m: RunMetrics) => Samples): Samples {
    return samples(run()).map(([l, value]) => [{ job_name: job, ...l }, value]);
  }
}

/** A reject reason as a label value: `invalid UTF-8` -> `invalid_utf_8`, `line too long` -> `line_too_long`. */
export function reasonLabel(reason: string): string {
  return reason
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}
