import { describe, expect, it } from 'vitest';
import { statusJson } from '../../src/cli/commands/status-json.js';
import type { StatusReport, WorkerInfo } from '../../src/state/port.js';

const T = Date.UTC(2026, 0, 1, 10, 0, 0, 250);

const WORKER: WorkerInfo = {
  id: 'w-1',
  job: 'web',
  pid: 42,
  host: 'h',
  startedAt: T,
  heartbeatAt: T + 1000,
  state: 'running',
  watermark: null,
  idle: false,
  health: 'alive',
};

const REPORT: StatusReport = {
  database: '/d/state.db',
  schemaVersion: 1,
  databaseBytes: 4096,
  walBytes: 0,
  publishedSeq: 3,
  jobs: [
    {
      job: 'web',
      definition: {
        reduction: 'sum',
        window: '1m',
        key: 'field=1',
        delimiter: 'none',
        'ignore-case': 'true',
        value: 'field=2',
        time: 'processing',
        'time-format': 'none',
        lateness: 'none',
        dedupe: 'none',
      },
      records: 10,
      rejected: 1,
      late: 0,
      duplicates: 0,
      openWindows: 1,
      provisionalWindows: 2,
      finalizedWindows: 3,
    },
  ],
  sources: [
    { job: 'web', source: 's', kind: 'file', offset: 120, lines: 10, maxEventTime: T, clients: 0, refused: 0, updatedAt: T },
  ],
  openWindows: [{ job: 'web', start: T, end: T + 60_000, state: 'provisional', revision: 2, commits: 2, keyRows: 5 }],
  workers: [WORKER],
};

describe('status --format json', () => {
  it('uses snake_case names, ISO-8601 UTC times with milliseconds, real numbers, booleans and null', () => {
    const doc = JSON.parse(statusJson({ ...REPORT, workers: [WORKER, { ...WORKER, id: 'w-2', watermark: T, idle: true, health: 'dead' }] })) as unknown;
    expect(doc).toEqual({
      database: '/d/state.db',
      schema_version: 1,
      database_bytes: 4096,
      wal_bytes: 0,
      published_seq: 3,
      jobs: [
        {
          job: 'web',
          definition: {
            reduction: 'sum',
            window: '1m',
            key: 'field=1',
            // '-d none' with field=N is a delimiter, not "no delimiter".
            delimiter: 'none',
            ignore_case: true,
            value: 'field=2',
            time: 'processing',
            time_format: null,
            lateness: null,
            dedupe: null,
          },
          records: 10,
          rejected: 1,
          late: 0,
          duplicates: 0,
          open_windows: 1,
          provisional_windows: 2,
          finalized_windows: 3,
        },
      ],
      workers: [
        {
          id: 'w-1',
          job: 'web',
          pid: 42,
          host: 'h',
          state: 'running',
          health: 'alive',
          started_at: '2026-01-01T10:00:00.250Z',
          heartbeat_at: '2026-01-01T10:00:01.250Z',
          watermark: null,
          idle: false,
        },
        {
          id: 'w-2',
          job: 'web',
          pid: 42,
          host: 'h',
          state: 'running',
          health: 'dead',
          started_at: '2026-01-01T10:00:00.250Z',
          heartbeat_at: '2026-01-01T10:00:01.250Z',
          watermark: '2026-01-01T10:00:00.250Z',
          idle: true,
        },
      ],
      sources: [
        {
          job: 'web',
          source: 's',
          kind: 'file',
          offset: 120,
          lines: 10,
          clients: 0,
          refused: 0,
          max_event_time: '2026-01-01T10:00:00.250Z',
          updated_at: '2026-01-01T10:00:00.250Z',
        },
      ],
      open_windows: [
        { job: 'web', window_start: '2026-01-01T10:00:00.250Z', window_end: '2026-01-01T10:01:00.250Z', state: 'provisional', revision: 2, commits: 2, key_rows: 5 },
      ],
    });
  });

  it('gives a word or line key\'s delimiter as null', () => {
    const report = { ...REPORT, jobs: [{ ...REPORT.jobs[0]!, definition: { ...REPORT.jobs[0]!.definition, key: 'word' } }] };
    const doc = JSON.parse(statusJson({ ...report, workers: [] })) as { jobs: Array<{ definition: Record<string, unknown> }> };
    expect(doc.jobs[0]!.definition.delimiter).toBeNull();
  });
});
