import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cannotWrite, describeCause, RuntimeFailure, UsageError } from '../errors.js';
import { checkSketchColumn } from '../reducers/sketch-table.js';
import { DELTA_COLUMNS, DELTA_COLUMNS_BEFORE_SKETCHES, decodeDelta, type DeltaRow } from './codec.js';
import { SNAPSHOT_TABLES, type JobDefinition, type StateStore } from './port.js';
import { openSqlite } from './sqlite/addon.js';
import { SqliteConnection } from './sqlite/connection.js';
import { SCHEMA_VERSION } from './sqlite/schema.js';
import { openTarget, writerTarget, type WriteAll } from './snapshot-target.js';

/**
 * Snapshot file format, version 1:
 *
 *   line 1   `STATESYNC-SNAPSHOT 1`
 *   line 2   a JSON header: format, version, created_at, statesync_version,
 *            schema_version, jobs (name + definition), counts, payload_bytes
 *   line 3   `sha256 <hex>`: the checksum of line 2 (with its newline) and the
 *            payload, so neither can change unnoticed
 *   rest     the payload: an SQLite database image of the state (the store's
 *            exportImage), holding jobs, sources, deltas, results and dedupe ids
 *
 * The payload is a real SQLite file, whatever the store's backend, so a
 * snapshot can be checked with `PRAGMA integrity_check` and restored into
 * any backend (the store's restoreImage).
 */
export const SNAPSHOT_MAGIC = 'STATESYNC-SNAPSHOT';
export const SNAPSHOT_VERSION = 1;
const MAX_HEADER_BYTES = 1 << 20;

export interface SnapshotHeader {
  readonly format: 'statesync-snapshot';
  readonly version: number;
  readonly created_at: string;
  readonly statesync_version: string;
  readonly schema_version: number;
  readonly jobs: ReadonlyArray<{ job: string; definition: JobDefinition }>;
  readonly counts: SnapshotCounts;
  readonly payload_bytes: number;
  readonly sha256: string;
}

export interface SnapshotCounts {
  readonly jobs: number;
  readonly sources: number;
  /** Windows with deltas, never published. */
  readonly open_windows: number;
  /** Windows published provisional (schema 2 on; absent from older snapshots). */
  readonly provisional_windows?: number;
  readonly delta_rows: number;
  /** Final windows (every publication, before schema 2). */
  readonly finalized_windows: number;
  readonly result_rows: number;
  readonly dedupe_ids: number;
}

export type Progress = (done: number, total: number) => void;

/**
 * Exports a consistent snapshot of `store` to `output` (a path; the file
 * appears only when complete: temporary file, fsync, rename) or to a writer
 * (stdout). Returns the header written.
 */
export async function exportSnapshot(
  store: StateStore,
  output: { path: string } | { write: (chunk: Buffer) => Promise<void> },
  version: string,
  now: Date,
  progress: Progress = () => undefined,
): Promise<SnapshotHeader> {
  // Opened first, so a path that cannot be written fails before any work, naming the path.
  const target = 'path' in output ? openTarget(output.path) : writerTarget(output.write);
  const image = join(target.workDir, `.statesync-export-${process.pid}-${Date.now()}.db`);
  try {
    try {
      await store.exportImage(image);
    } catch (err) {
      throw cannotWrite(target.path ?? image, err);
    }
    const facts = describePayload(image);
    const payloadBytes = statSync(image).size;
    const fields: Omit<SnapshotHeader, 'sha256'> = {
      format: 'statesync-snapshot',
      version: SNAPSHOT_VERSION,
      created_at: now.toISOString(),
      statesync_version: version,
      schema_version: facts.schemaVersion,
      jobs: facts.jobs,
      counts: facts.counts,
      payload_bytes: payloadBytes,
    };
    const headerLine = Buffer.from(`${JSON.stringify(fields)}\n`);
    const header: SnapshotHeader = { ...fields, sha256: await sha256Of(headerLine, image) };
    const head = Buffer.concat([
      Buffer.from(`${SNAPSHOT_MAGIC} ${SNAPSHOT_VERSION}\n`),
      headerLine,
      Buffer.from(`sha256 ${header.sha256}\n`),
    ]);
    const writeAll: WriteAll = async (write) => {
      await write(head);
      await copyInto(image, write, payloadBytes, progress);
    };
    await target.fill(writeAll);
    return header;
  } finally {
    rmSync(image, { force: true });
    target.discard();
  }
}

export interface ValidatedSnapshot {
  readonly header: SnapshotHeader;
  /** A temporary SQLite file holding the payload, at this statesync's schema version. */
  readonly image: string;
  readonly dispose: () => void;
}

/**
 * Reads and checks a snapshot completely: format, version, length,
 * checksum, SQLite integrity, schema, and that every stored row decodes.
 * Throws UsageError naming the first problem (the file as `name`, e.g.
 * stdin for a spooled copy); changes nothing anywhere.
 */
export async function validateSnapshot(
  file: string,
  progress: Progress = () => undefined,
  name = file,
): Promise<ValidatedSnapshot> {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new UsageError(`${name} is a directory; give a snapshot file`);
    size = st.size;
    // Readable at all (permissions): said here, as one line, before anything is read.
    closeSync(openSync(file, 'r'));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(code === 'ENOENT' ? `${name}: no such snapshot file` : `cannot read ${name}: ${describeCause(err)}`);
  }
  if (size === 0) throw new UsageError(`${name} is empty, not a statesync snapshot`);
  const { header, headerLine, payloadOffset } = readHeader(file, size, name);
  const payloadBytes = size - payloadOffset;
  if (payloadBytes !== header.payload_bytes) {
    throw new UsageError(
      `${name} is truncated or padded: the header announces ${header.payload_bytes} payload bytes, the file holds ${payloadBytes}`,
    );
  }
  const image = join(tmpdir(), `.statesync-restore-${process.pid}-${Date.now()}.db`);
  const dispose = () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(image + suffix, { force: true });
  };
  try {
    const hash = createHash('sha256').update(headerLine);
    const out = openSync(image, 'w');
    try {
      let done = 0;
      for await (const chunk of createReadStream(file, { start: payloadOffset, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        writeSync(out, chunk);
        done += chunk.length;
        progress(done, payloadBytes);
      }
    } finally {
      closeSync(out);
    }
    if (hash.digest('hex') !== header.sha256) {
      throw new UsageError(`${name} is corrupt: its checksum does not match its header and content`);
    }
    checkPayload(name, image, header);
    const facts = describePayload(image);
    if (JSON.stringify(facts.counts) !== JSON.stringify(header.counts) || JSON.stringify(facts.jobs) !== JSON.stringify(header.jobs)) {
      throw new UsageError(`${name} is inconsistent: its header's jobs or counts do not match its content`);
    }
    // An older schema is brought up to date on the temporary copy, never on the target.
    SqliteConnection.open(image).close();
    return { header, image, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

function readHeader(file: string, size: number, name: string): { header: SnapshotHeader; headerLine: Buffer; payloadOffset: number } {
  const fd = openSync(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(Math.min(size, MAX_HEADER_BYTES));
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const firstNl = head.indexOf(10);
  const magic = head.subarray(0, firstNl < 0 ? Math.min(head.length, 64) : firstNl).toString('latin1');
  const m = /^STATESYNC-SNAPSHOT (\d+)$/.exec(magic);
  if (m === null) throw new UsageError(`${name} is not a statesync snapshot (no snapshot header)`);
  if (Number(m[1]) > SNAPSHOT_VERSION) {
    throw new UsageError(
      `${name} is a version ${m[1]} snapshot, written by a newer statesync (this one reads version ${SNAPSHOT_VERSION}); upgrade statesync`,
    );
  }
  const secondNl = head.indexOf(10, firstNl + 1);
  if (secondNl < 0) throw new UsageError(`${name} is truncated: its header is incomplete`);
  const thirdNl = head.indexOf(10, secondNl + 1);
  const checksum = thirdNl < 0 ? null : /^sha256 ([0-9a-f]{64})$/.exec(head.subarray(secondNl + 1, thirdNl).toString('latin1'));
  if (checksum === null) throw new UsageError(`${name} is truncated or corrupt: its checksum line is missing`);
  let header: SnapshotHeader;
  try {
    header = { ...(JSON.parse(head.subarray(firstNl + 1, secondNl).toString('utf8')) as object), sha256: checksum[1]! } as SnapshotHeader;
  } catch {
    throw new UsageError(`${name} is corrupt: its header is not valid JSON`);
  }
  if (
    header === null ||
    typeof header !== 'object' ||
    header.format !== 'statesync-snapshot' ||
    header.version !== Number(m[1]) ||
    !Number.isSafeInteger(header.payload_bytes) ||
    typeof header.sha256 !== 'string' ||
    !Array.isArray(header.jobs)
  ) {
    throw new UsageError(`${name} is corrupt: its header lacks required fields`);
  }
  if (!Number.isSafeInteger(header.schema_version) || header.schema_version > SCHEMA_VERSION) {
    throw new UsageError(`${name} holds schema ${header.schema_version}, newer than this statesync knows; upgrade statesync`);
  }
  return { header, headerLine: Buffer.from(head.subarray(firstNl + 1, secondNl + 1)), payloadOffset: thirdNl + 1 };
}

/** The payload must be a sound SQLite database whose every row decodes, agreeing with the header. */
function checkPayload(name: string, image: string, header: SnapshotHeader): void {
  let db: ReturnType<typeof openSqlite>;
  try {
    db = openSqlite(image, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new UsageError(`${name} is corrupt: its payload is not a database (${(err as Error).message})`);
  }
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new UsageError(`${name} is corrupt: ${String(integrity)}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== header.schema_version) {
      throw new UsageError(`${name} is inconsistent: header says schema ${header.schema_version}, payload has ${version}`);
    }
    const tables = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]);
    for (const table of SNAPSHOT_TABLES) {
      if (!tables.has(table)) throw new UsageError(`${name} is inconsistent: table ${table} is missing`);
    }
    const jobs = db.prepare('SELECT job, definition FROM jobs ORDER BY job').all() as Array<{ job: string; definition: string }>;
    const headerJobs = header.jobs.map((j) => j.job).sort();
    if (JSON.stringify(jobs.map((j) => j.job)) !== JSON.stringify(headerJobs)) {
      throw new UsageError(`${name} is inconsistent: the header's job list does not match the content`);
    }
    for (const j of jobs) JSON.parse(j.definition);
    for (const row of db.prepare('SELECT rows FROM results').pluck().iterate() as Iterable<string>) JSON.parse(row);
    const columns = version >= 3 ? DELTA_COLUMNS : DELTA_COLUMNS_BEFORE_SKETCHES;
    for (const row of db.prepare(`SELECT ${columns} FROM deltas`).iterate() as Iterable<DeltaRow>) {
      // Decoding the keys checks the row holds as many keys as it says; every sketch must decode too.
      void decodeDelta(row).keys;
      if (row.sketches !== null) checkSketchColumn(row.sketches, row.key_count, null);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${name} is corrupt: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

function describePayload(image: string): { schemaVersion: number; jobs: SnapshotHeader['jobs']; counts: SnapshotCounts } {
  const db = openSqlite(image, { readonly: true, fileMustExist: true });
  try {
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    return {
      schemaVersion,
      jobs: (db.prepare('SELECT job, definition FROM jobs ORDER BY job').all() as Array<{ job: string; definition: string }>).map(
        (j) => ({ job: j.job, definition: JSON.parse(j.definition) as JobDefinition }),
      ),
      counts: schemaVersion < 2 ? countsBeforeRevisions(count) : countsWithRevisions(count),
    };
  } catch (err) {
    throw new RuntimeFailure(`cannot read the exported image: ${(err as Error).message}`);
  } finally {
    db.close();
  }
}

type Count = (sql: string) => number;

/** A schema-1 image's counts, as its header recorded them: every publication was final. */
function countsBeforeRevisions(count: Count): SnapshotCounts {
  return {
    jobs: count('SELECT COUNT(*) FROM jobs'),
    sources: count('SELECT COUNT(*) FROM sources'),
    open_windows: count('SELECT COUNT(*) FROM (SELECT DISTINCT job, window_start FROM deltas)'),
    delta_rows: count('SELECT COUNT(*) FROM deltas'),
    finalized_windows: count('SELECT COUNT(*) FROM results'),
    result_rows: count('SELECT COALESCE(SUM(row_count), 0) FROM results'),
    dedupe_ids: count('SELECT COUNT(*) FROM dedupe'),
  };
}

function countsWithRevisions(count: Count): SnapshotCounts {
  const published = 'SELECT 1 FROM results r WHERE r.job = d.job AND r.window_start = d.window_start';
  return {
    jobs: count('SELECT COUNT(*) FROM jobs'),
    sources: count('SELECT COUNT(*) FROM sources'),
    open_windows: count(`SELECT COUNT(*) FROM (SELECT DISTINCT job, window_start FROM deltas d WHERE NOT EXISTS (${published}))`),
    provisional_windows: count(`SELECT COUNT(*) FROM (SELECT DISTINCT job, window_start FROM deltas d WHERE EXISTS (${published}))`),
    delta_rows: count('SELECT COUNT(*) FROM deltas'),
    finalized_windows: count('SELECT COUNT(*) FROM results WHERE final = 1'),
    result_rows: count('SELECT COALESCE(SUM(row_count), 0) FROM results'),
    dedupe_ids: count('SELECT COUNT(*) FROM dedupe'),
  };
}

async function sha256Of(prefix: Buffer, path: string): Promise<string> {
  const hash = createHash('sha256').update(prefix);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

async function copyInto(path: string, write: (chunk: Buffer) => Promise<void>, total: number, progress: Progress): Promise<void> {
  let done = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    await write(chunk);
    done += chunk.length;
    progress(done, total);
  }
}
