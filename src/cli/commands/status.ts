import type { Writable } from 'node:stream';
import { StateStore, type Liveness, type StatusReport, type WorkerInfo } from '../../state/store.js';
import { isoTime } from '../../sinks/time.js';
import { statusJson, type Health, type ReportedWorker } from './status-json.js';
import { localLiveness } from './stream.js';

/** Jobs, workers, sources and offsets, open windows, counters and file sizes; JSON for scripts. */
export function runStatusCommand(db: string, json: boolean, workerTimeoutMs: number, out: Writable, now: number): number {
  const store = StateStore.open(db, { readOnly: true });
  try {
    const raw = store.status();
    const liveness = localLiveness(workerTimeoutMs);
    const workers: ReportedWorker[] = raw.workers.map((w) => ({ ...w, health: health(w, liveness, now) }));
    out.write(json ? statusJson(raw, workers) : renderStatus({ ...raw, workers }, now));
    return 0;
  } finally {
    store.close();
  }
}

/** A running worker is alive while it heartbeats and (on this host) its process exists. */
function health(w: WorkerInfo, liveness: Liveness, now: number): Health {
  if (w.state !== 'running') return w.state;
  const gone = now - w.heartbeatAt > liveness.timeoutMs || (w.host === liveness.host && !liveness.pidAlive(w.pid));
  return gone ? 'dead' : 'alive';
}

function renderStatus(r: StatusReport & { workers: readonly ReportedWorker[] }, now: number): string {
  const lines: string[] = [];
  lines.push(`database   ${r.database}  (${bytes(r.databaseBytes)}, WAL ${bytes(r.walBytes)}, schema v${r.schemaVersion})`);
  lines.push(`published  seq ${r.publishedSeq}`);
  lines.push('');
  lines.push(`jobs (${r.jobs.length})`);
  for (const j of r.jobs) {
    const def = Object.entries(j.definition)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    lines.push(`  ${j.job}: ${def}`);
    lines.push(
      `    records ${j.records}  rejected ${j.rejected}  late ${j.late}  duplicates ${j.duplicates}  ` +
        `open windows ${j.openWindows}  finalized windows ${j.finalizedWindows}`,
    );
  }
  lines.push('');
  lines.push(`workers (${r.workers.length})`);
  for (const w of r.workers) {
    const mark = w.watermark === null ? 'none' : isoTime(w.watermark);
    lines.push(
      `  ${w.health.padEnd(8)} ${w.job}  pid ${w.pid}@${w.host}  heartbeat ${Math.round((now - w.heartbeatAt) / 1000)}s ago  ` +
        `watermark ${mark}${w.idle ? '  idle' : ''}  id ${w.id.slice(0, 8)}`,
    );
  }
  lines.push('');
  lines.push(`sources (${r.sources.length})`);
  for (const s of r.sources) {
    const eventTime = s.maxEventTime === null ? '' : `  newest event ${isoTime(s.maxEventTime)}`;
    const network = s.kind.startsWith('tcp') ? `  clients ${s.clients}  refused ${s.refused}` : '';
    lines.push(
      `  ${s.job}  ${s.source}  [${s.kind}]  ${s.kind.startsWith('tcp') ? 'bytes' : 'offset'} ${s.offset}  lines ${s.lines}` +
        `${network}${eventTime}  updated ${isoTime(s.updatedAt)}`,
    );
  }
  lines.push('');
  lines.push(`open windows (${r.openWindows.length})`);
  for (const w of r.openWindows) {
    lines.push(`  ${w.job}  ${isoTime(w.start)} .. ${isoTime(w.end)}  commits ${w.commits}  key rows ${w.keyRows}`);
  }
  return `${lines.join('\n')}\n`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
