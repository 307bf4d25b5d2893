import type { TextOut } from '../../sinks/sink.js';
import { isoTime } from '../../sinks/time.js';
import { openStore } from '../../state/open.js';
import type { StatusReport } from '../../state/port.js';
import { statusJson } from './status-json.js';
import { localLiveness } from '../liveness.js';

/** Jobs, workers, sources and offsets, open windows, counters and file sizes; JSON for scripts. */
export async function runStatusCommand(db: string, json: boolean, workerTimeoutMs: number, out: TextOut, now: number): Promise<number> {
  const store = await openStore(db, { readOnly: true });
  try {
    const report = await store.status(localLiveness(workerTimeoutMs), now);
    out.write(json ? statusJson(report) : renderStatus(report, now));
    return 0;
  } finally {
    await store.close();
  }
}

function renderStatus(r: StatusReport, now: number): string {
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
        `open windows ${j.openWindows}  provisional windows ${j.provisionalWindows}  finalized windows ${j.finalizedWindows}`,
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
  lines.push(`windows not final (${r.openWindows.length})`);
  for (const w of r.openWindows) {
    const state = w.revision === null ? 'open' : `provisional, revision ${w.revision}`;
    lines.push(`  ${w.job}  ${isoTime(w.start)} .. ${isoTime(w.end)}  ${state}  commits ${w.commits}  key rows ${w.keyRows}`);
  }
  return `${lines.join('\n')}\n`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
