/**
 * Ordered migrations. Each entry moves the schema from version i to i + 1
 * (PRAGMA user_version); never edit a released entry, append a new one.
 *
 * SQLite keeps each statement's text, comments included, in the database's
 * schema, so a stale comment inside a released entry stays and is corrected
 * here: `results.rows` holds a window's rows in no particular order (sinks
 * order them for display), and `jobs.retain_ms`'s DEFAULT is never used
 * (every insert names it; the default lives in src/defaults.ts).
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE jobs (
    job         TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,            -- JSON object of the options that shape results
    created_at  INTEGER NOT NULL,         -- epoch ms
    records     INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    late        INTEGER NOT NULL DEFAULT 0,
    duplicates  INTEGER NOT NULL DEFAULT 0,
    retain_ms   INTEGER NOT NULL DEFAULT 3600000 -- how long finalized results stay (--retain of the latest run)
  ) STRICT;

  -- How far each input has been consumed, committed with the deltas it produced.
  CREATE TABLE sources (
    job         TEXT NOT NULL,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- file | stdin | ...
    offset      INTEGER NOT NULL,         -- bytes consumed up to the end of the last whole line
    lines       INTEGER NOT NULL,
    max_event_time INTEGER,               -- newest event time read up to offset (event-time jobs)
    identity    TEXT,                     -- a file's device:inode when the offset was committed
    clients     INTEGER NOT NULL DEFAULT 0, -- network sources: connected clients at the last commit
    refused     INTEGER NOT NULL DEFAULT 0, -- network sources: connections refused (over --max-connections)
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (job, source)
  ) STRICT, WITHOUT ROWID;

  -- Event-sourced partial state of open windows: one row per window per commit,
  -- so a commit holds the write lock for a few inserts whatever the key count.
  CREATE TABLE deltas (
    id            INTEGER PRIMARY KEY,
    job           TEXT NOT NULL,
    window_start  INTEGER NOT NULL,       -- epoch ms, inclusive
    window_end    INTEGER NOT NULL,       -- epoch ms, exclusive
    key_count     INTEGER NOT NULL,
    keys          BLOB NOT NULL,          -- UTF-8 keys joined by NUL (NUL never occurs in a key)
    counts        BLOB NOT NULL,          -- float64 little-endian per key
    sums          BLOB,
    sum_lows      BLOB,                   -- rounding errors of sums (double-double, exact integer sums)
    mins          BLOB,
    maxs          BLOB,
    committed_at  INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX deltas_by_window ON deltas (job, window_start);

  -- Every stream process of a job. A window is finished once every running,
  -- non-idle worker's committed watermark has passed its end.
  CREATE TABLE workers (
    worker_id     TEXT PRIMARY KEY,
    job           TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    host          TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL,
    state         TEXT NOT NULL,          -- running | finished | dead
    watermark     INTEGER,                -- committed clock or event-time watermark; NULL holds everything
    idle          INTEGER NOT NULL DEFAULT 0,
    ended_at      INTEGER
  ) STRICT;
  CREATE INDEX workers_by_job ON workers (job, state);

  -- Record ids already applied (--dedupe), kept until they expire.
  CREATE TABLE dedupe (
    job         TEXT NOT NULL,
    id          TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (job, id)
  ) STRICT, WITHOUT ROWID;

  -- Publication log: one row per finalized window; UNIQUE makes finalization happen once.
  CREATE TABLE results (
    seq           INTEGER PRIMARY KEY,    -- publication order
    job           TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    window_end    INTEGER NOT NULL,
    finalized_at  INTEGER NOT NULL,
    row_count     INTEGER NOT NULL,
    rows          TEXT NOT NULL,          -- JSON [[key, value], ...], value desc then key asc
    UNIQUE (job, window_start)
  ) STRICT;

  -- For people with the sqlite3 shell: one row per finalized (window, key).
  CREATE VIEW result_rows AS
    SELECT r.seq, r.job, r.window_start, r.window_end,
           row.value ->> 0 AS key, row.value ->> 1 AS value
    FROM results AS r, json_each(r.rows) AS row;
  `,
  `
  -- Revisions: a window published before the watermark passed its end is
  -- provisional, keeps its deltas, and is published again (the next revision,
  -- complete rows) when it changes; final once the watermark passes its end.
  CREATE TABLE results_by_revision (
    seq           INTEGER PRIMARY KEY,    -- publication order, from sequences.publication
    job           TEXT NOT NULL,
    window_start  INTEGER NOT NULL,
    window_end    INTEGER NOT NULL,
    revision      INTEGER NOT NULL,       -- 1, 2, ... per window
    final         INTEGER NOT NULL,       -- 1: the window never changes again; 0: provisional
    through_delta INTEGER NOT NULL,       -- the highest delta id merged into rows (a provisional window keeps its deltas)
    finalized_at  INTEGER NOT NULL,       -- when this revision was published
    row_count     INTEGER NOT NULL,
    rows          TEXT NOT NULL,          -- JSON [[key, value], ...], in no particular order
    UNIQUE (job, window_start, revision)
  ) STRICT;
  INSERT INTO results_by_revision
    SELECT seq, job, window_start, window_end, 1, 1, 0, finalized_at, row_count, rows FROM results;
  DROP VIEW result_rows;
  DROP TABLE results;
  ALTER TABLE results_by_revision RENAME TO results;

  -- Publication numbers come from this counter, bumped inside the publishing
  -- transaction: gapless, in commit order, and never handed out twice (not
  -- even after compaction removed the newest results).
  CREATE TABLE sequences (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  INSERT INTO sequences VALUES ('publication', (SELECT COALESCE(MAX(seq), 0) FROM results));

  -- For people with the sqlite3 shell: one row per published (window, revision, key).
  CREATE VIEW result_rows AS
    SELECT r.seq, r.job, r.window_start, r.window_end, r.revision, r.final,
           row.value ->> 0 AS key, row.value ->> 1 AS value
    FROM results AS r, json_each(r.rows) AS row;
  `,
  `
  -- Sketch reductions (quantile, distinct): every key's sketch of the delta, in key
  -- order, each as a varint byte length and its encoding (src/reducers/sketches/);
  -- NULL for the other reductions.
  ALTER TABLE deltas ADD COLUMN sketches BLOB;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
