/** DDL of the raw area. Raw tables are append-only: loads add rows, nothing edits them. */
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
  session_id   VARCHAR NOT NULL,
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
`;
