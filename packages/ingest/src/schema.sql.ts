/**
 * DDL of the raw area. Raw tables are append-only: loads add rows, nothing edits them; only
 * `unload` removes one whole load (recorded in `unloads`).
 * Accounting: for every load and every file, rows = loaded + quarantined + skipped_rows.
 */
export const RAW_DDL = `
CREATE TABLE IF NOT EXISTS loads (
  load_id      VARCHAR PRIMARY KEY,
  started_at   TIMESTAMP NOT NULL,
  finished_at  TIMESTAMP NOT NULL,
  files        INTEGER NOT NULL,
  rows         BIGINT NOT NULL,
  loaded       BIGINT NOT NULL,
  quarantined  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS load_files (
  load_id      VARCHAR NOT NULL,
  source_file  VARCHAR NOT NULL,
  sha256       VARCHAR NOT NULL UNIQUE,
  format       VARCHAR NOT NULL,
  rows         BIGINT NOT NULL,
  loaded       BIGINT NOT NULL,
  quarantined  BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS raw_events (
  load_id      VARCHAR NOT NULL,
  source_file  VARCHAR NOT NULL,
  line         BIGINT NOT NULL,
  session_id   VARCHAR,
  event_type   VARCHAR NOT NULL,
  item_id      VARCHAR,
  ts           TIMESTAMP NOT NULL,
  user_id      VARCHAR,
  price        DOUBLE,
  category     VARCHAR,
  query        VARCHAR
);
CREATE TABLE IF NOT EXISTS quarantine (
  load_id      VARCHAR NOT NULL,
  source_file  VARCHAR NOT NULL,
  line         BIGINT NOT NULL,
  raw          VARCHAR NOT NULL,
  reason       VARCHAR NOT NULL
);
-- Columns that warehouse files of earlier skiff versions lack (added here when such a file is opened): rows skipped by design (blank lines,
-- headers, page views…), how the format was chosen, and the reason code of each refused row.
ALTER TABLE loads ADD COLUMN IF NOT EXISTS skipped_rows BIGINT DEFAULT 0;
ALTER TABLE load_files ADD COLUMN IF NOT EXISTS skipped_rows BIGINT DEFAULT 0;
ALTER TABLE load_files ADD COLUMN IF NOT EXISTS detected_by VARCHAR;
ALTER TABLE load_files ADD COLUMN IF NOT EXISTS engine VARCHAR;
ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS code VARCHAR;
`;

/** Warehouse files of earlier skiff versions have session_id NOT NULL (they had no sessionization by user). */
export const RELAX_SESSION_ID = `ALTER TABLE raw_events ALTER COLUMN session_id DROP NOT NULL`;

/**
 * One row per monitoring run (`Warehouse.recordMonitoringRun`), mirroring core's
 * `MonitoringRunRow`; created on the first run recorded. Times are UTC wall time like the raw tables.
 */
export const MONITORING_RUNS_DDL = `
CREATE TABLE IF NOT EXISTS monitoring_runs (
  run_at           TIMESTAMP NOT NULL,
  model_version    VARCHAR,
  dataset_drift    BOOLEAN NOT NULL,
  share            DOUBLE NOT NULL,
  drift_share      DOUBLE NOT NULL,
  reference_rows   BIGINT NOT NULL,
  current_rows     BIGINT NOT NULL,
  drifted_columns  VARCHAR[] NOT NULL,
  online_hr20      DOUBLE,
  report_path      VARCHAR NOT NULL
);
-- Added after the first release: tables created before get the column here (NULL for old rows).
-- TRUE when online quality fell below the served version's offline metric by more than the limit;
-- NULL when it was not judged.
ALTER TABLE monitoring_runs ADD COLUMN IF NOT EXISTS quality_drop BOOLEAN;
`;

/**
 * One row per load removed by `Warehouse.unload` (created on the first removal): what the load
 * held, who removed it and why, and the registered versions whose lineage named it when the
 * removal was forced. The load's rows are gone from `loads`, `raw_events` and `quarantine`; its
 * `load_files` rows stay unless `files_forgotten`, so the same bytes are not loaded again.
 */
export const UNLOADS_DDL = `
CREATE TABLE IF NOT EXISTS unloads (
  load_id          VARCHAR NOT NULL,
  unloaded_at      TIMESTAMP NOT NULL,
  actor            VARCHAR NOT NULL,
  reason           VARCHAR NOT NULL,
  load_started_at  TIMESTAMP NOT NULL,
  files            INTEGER NOT NULL,
  raw_events       BIGINT NOT NULL,
  quarantined      BIGINT NOT NULL,
  files_forgotten  BOOLEAN NOT NULL,
  forced_versions  VARCHAR[] NOT NULL
);
`;
