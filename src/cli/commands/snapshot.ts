import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { describeCause, RuntimeFailure, UsageError } from '../../errors.js';
import { DEFAULT_WORKER_TIMEOUT_MS } from '../../defaults.js';
import type { TextOut } from '../../sinks/sink.js';
import { isTerminal } from '../../sources/terminal.js';
import { describeDb, openStore } from '../../state/open.js';
import { exportSnapshot, validateSnapshot, type Progress, type SnapshotHeader } from '../../state/snapshot.js';
import { refuseOutputsOverInputs } from '../guards.js';
import { localLiveness } from '../liveness.js';
import { progressBar } from '../progress.js';
import { exitCodeAfter, trapStopSignals } from '../signals.js';
import { stdout } from '../stdio.js';

/** A stage of a snapshot command (`export`, `verify`) shown as a progress bar on a terminal. */
function showProgress(label: string): { update: Progress; done: () => void } {
  const bar = progressBar();
  return { update: (done, total) => bar?.update(label, done, total), done: () => bar?.done() };
}

export async function runSnapshotExport(db: string, output: string | null, version: string, note: (l: string) => void): Promise<number> {
  // As gzip does: binary data on a terminal helps nobody and can upset it.
  if (output === null && isTerminal(1)) {
    throw new UsageError('refusing to write a binary snapshot to a terminal; give -o FILE or pipe it into a file or command');
  }
  refuseOutputsOverInputs([{ option: '-o', path: output }], [], db);
  const store = await openStore(db, { readOnly: true });
  const bar = showProgress('export');
  try {
    const header =
      output === null
        ? await exportSnapshot(store, { write: writeStdout }, version, new Date(), bar.update)
        : await exportSnapshot(store, { path: output }, version, new Date(), bar.update);
    bar.done();
    if (output !== null) note(`exported ${describe(header)} to ${output}`);
    return 0;
  } finally {
    await store.close();
  }
}

/** `file` '-' reads the snapshot from stdin (`ssh a statesync snapshot export | statesync snapshot restore - --db b.db`). */
export async function runSnapshotRestore(
  file: string,
  db: string,
  force: boolean,
  note: (l: string) => void,
): Promise<number> {
  if (file !== '-') return restore(file, file, db, force, note, () => null);
  if (isTerminal(0)) {
    throw new UsageError("refusing to read a binary snapshot from a terminal; pipe it in, or give the snapshot's FILE");
  }
  const signals = trapStopSignals(() => process.stdin.destroy());
  const exitCode = () => (signals.received === null ? null : exitCodeAfter(signals.received));
  // Spooled to a private file first: a snapshot is checked whole before the database is touched.
  // Made after the handlers are in place, so a signal seen once it exists always finds them.
  const dir = mkdtempSync(join(tmpdir(), 'statesync-restore-'));
  try {
    const spooled = join(dir, 'stdin.snapshot');
    try {
      await pipeline(process.stdin, createWriteStream(spooled, { mode: 0o600 }));
    } catch (err) {
      const code = exitCode();
      if (code !== null) return code;
      throw new RuntimeFailure(`cannot read the snapshot from stdin: ${describeCause(err)}`, { cause: err });
    }
    return await restore(spooled, 'stdin', db, force, note, exitCode);
  } finally {
    signals.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Validates everything, then replaces the state; `stopped` gives an exit code once a signal asked to stop. */
async function restore(
  file: string,
  name: string,
  db: string,
  force: boolean,
  note: (l: string) => void,
  stopped: () => number | null,
): Promise<number> {
  const bar = showProgress('verify');
  const snapshot = await validateSnapshot(file, bar.update, name);
  bar.done();
  try {
    const code = stopped();
    if (code !== null) return code;
    const store = await openStore(db);
    try {
      const live = (await store.workers(localLiveness(DEFAULT_WORKER_TIMEOUT_MS), Date.now())).filter((w) => w.health === 'alive');
      if (live.length > 0 && !force) {
        throw new UsageError(
          `${describeDb(db)} is in use by ${live.length} live worker${live.length === 1 ? '' : 's'} ` +
            `(pid ${live.map((w) => w.pid).join(', ')}); stop them first, or pass --force`,
        );
      }
      await store.restoreImage(snapshot.image);
    } finally {
      await store.close();
    }
    note(`restored ${describe(snapshot.header)} into ${describeDb(db)}`);
    return 0;
  } finally {
    snapshot.dispose();
  }
}

export async function runSnapshotInspect(file: string, json: boolean, out: TextOut): Promise<number> {
  let header: SnapshotHeader;
  try {
    const snapshot = await validateSnapshot(file);
    header = snapshot.header;
    snapshot.dispose();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    out.write(json ? `${JSON.stringify({ file, ok: false, problem: err.message })}\n` : `file       ${file}\nverdict    BAD: ${err.message}\n`);
    // The verdict was printed; the exit code still says the file is unusable.
    throw new UsageError(err.message);
  }
  if (json) {
    out.write(`${JSON.stringify({ file, ok: true, header }, null, 2)}\n`);
    return 0;
  }
  const c = header.counts;
  const lines = [
    `file       ${file}`,
    `verdict    ok (checksum sha256 ${header.sha256.slice(0, 16)}… verified, integrity ok)`,
    `format     ${header.format} v${header.version}, schema ${header.schema_version}`,
    `created    ${header.created_at} by statesync ${header.statesync_version}`,
    `payload    ${header.payload_bytes} bytes`,
    `counts     jobs ${c.jobs}, sources ${c.sources}, open windows ${c.open_windows}, ` +
      `provisional windows ${c.provisional_windows ?? 0} (${c.delta_rows} delta rows), ` +
      `finalized windows ${c.finalized_windows} (${c.result_rows} rows), dedupe ids ${c.dedupe_ids}`,
    `jobs`,
    ...header.jobs.map(
      (j) =>
        `  ${j.job}: ${Object.entries(j.definition)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
    ),
  ];
  out.write(`${lines.join('\n')}\n`);
  return 0;
}

export async function runCompact(db: string, retainMs: number | null, note: (l: string) => void): Promise<number> {
  const store = await openStore(db, { mustExist: true });
  try {
    const removed = await store.compact(Date.now(), retainMs);
    note(
      `compacted ${describeDb(db)}: removed ${removed.revisions} superseded revision${removed.revisions === 1 ? '' : 's'}, ` +
        `${removed.results} finalized window${removed.results === 1 ? '' : 's'} past retention, ` +
        `${removed.dedupeIds} expired dedupe id${removed.dedupeIds === 1 ? '' : 's'}, ${removed.workers} old worker record${removed.workers === 1 ? '' : 's'}`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

function describe(h: SnapshotHeader): string {
  const c = h.counts;
  return `${c.jobs} job${c.jobs === 1 ? '' : 's'}, ${c.open_windows} open, ${c.provisional_windows ?? 0} provisional and ${c.finalized_windows} finalized windows`;
}

function writeStdout(chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stdout.asStream().write(chunk, (err) => (err ? reject(err) : resolve()));
  });
}
