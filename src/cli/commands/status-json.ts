import type { JobDefinition, StatusReport } from '../../state/port.js';
import { isoTime } from '../../sinks/time.js';

/**
 * `status --format json`, in the conventions of the result output: snake_case
 * names, times as ISO-8601 UTC with milliseconds (null when there is none),
 * numbers and booleans as JSON numbers and booleans. README lists each field.
 */
export function statusJson(r: StatusReport): string {
  const report = {
    database: r.database,
    schema_version: r.schemaVersion,
    database_bytes: r.databaseBytes,
    wal_bytes: r.walBytes,
    published_seq: r.publishedSeq,
    jobs: r.jobs.map((j) => ({
      job: j.job,
      definition: definitionJson(j.definition),
      records: j.records,
      rejected: j.rejected,
      late: j.late,
      duplicates: j.duplicates,
      open_windows: j.openWindows,
      provisional_windows: j.provisionalWindows,
      finalized_windows: j.finalizedWindows,
    })),
    workers: r.workers.map((w) => ({
      id: w.id,
      job: w.job,
      pid: w.pid,
      host: w.host,
      state: w.state,
      health: w.health,
      started_at: isoTime(w.startedAt),
      heartbeat_at: isoTime(w.heartbeatAt),
      watermark: w.watermark === null ? null : isoTime(w.watermark),
      idle: w.idle,
    })),
    sources: r.sources.map((s) => ({
      job: s.job,
      source: s.source,
      kind: s.kind,
      offset: s.offset,
      lines: s.lines,
      clients: s.clients,
      refused: s.refused,
      max_event_time: s.maxEventTime === null ? null : isoTime(s.maxEventTime),
      updated_at: isoTime(s.updatedAt),
    })),
    open_windows: r.openWindows.map((w) => ({
      job: w.job,
      window_start: isoTime(w.start),
      window_end: isoTime(w.end),
      state: w.state,
      revision: w.revision,
      commits: w.commits,
      key_rows: w.keyRows,
    })),
  };
  return `${JSON.stringify(report, null, 2)}\n`;
}

/**
 * The pinned definition is stored as option spellings ('ignore-case': 'false',
 * 'none' for an option that does not apply); JSON gets snake_case names, a
 * boolean, and null for "does not apply".
 */
function definitionJson(definition: JobDefinition): Record<string, string | boolean | null> {
  // A delimiter is 'none' only where the key has no fields; with field=N, '-d none' is a real delimiter.
  const fieldless = definition.key === 'word' || definition.key === 'line';
  const out: Record<string, string | boolean | null> = {};
  for (const [name, value] of Object.entries(definition)) {
    const absent = value === 'none' && (name !== 'delimiter' || fieldless);
    out[name.replace(/-/g, '_')] = name === 'ignore-case' ? value === 'true' : absent ? null : value;
  }
  return out;
}
