/**
 * Transform models: plain SQL SELECTs materialised as tables, in dependency order
 * (stg_events → sessions → session_sequences → splits). Each is `CREATE OR REPLACE TABLE name AS <sql>`,
 * so a rebuild from raw_events is always possible (log, then transform). The SQL is ANSI-ish on purpose:
 * moving it to dbt on Snowflake/BigQuery means copying the SELECTs into model files.
 */
export interface TransformModel {
  name: string;
  sql: string;
}

/** Minimum and maximum session length (item events) kept for training, as in session-rec's filters. */
export const MIN_SESSION_LENGTH = 2;
export const MAX_SESSION_LENGTH = 200;

export const MODELS: TransformModel[] = [
  {
    // Item interactions only; one row per raw event, exact duplicates (same file + line loaded twice
    // through different copies) removed by keeping the first load.
    name: 'stg_events',
    sql: `
      SELECT session_id, event_type, item_id, ts, user_id, price, category, load_id, source_file, line
      FROM (
        SELECT *, row_number() OVER (
          PARTITION BY session_id, event_type, item_id, ts ORDER BY load_id, source_file, line) AS dup
        FROM raw_events
        WHERE item_id IS NOT NULL AND event_type IN ('view', 'click', 'add_to_cart', 'purchase')
      ) WHERE dup = 1`,
  },
  {
    name: 'sessions',
    sql: `
      SELECT session_id,
             min(ts) AS started_at,
             max(ts) AS ended_at,
             count(*) AS n_events,
             count(DISTINCT item_id) AS n_items
      FROM stg_events
      GROUP BY session_id`,
  },
  {
    // Ordered item sequence per session; repeated clicks are kept (session-rec convention).
    name: 'session_sequences',
    sql: `
      SELECT s.session_id, s.started_at, s.ended_at,
             list(e.item_id ORDER BY e.ts, e.source_file, e.line) AS items,
             count(*) AS length
      FROM sessions s JOIN stg_events e USING (session_id)
      WHERE s.n_events BETWEEN ${MIN_SESSION_LENGTH} AND ${MAX_SESSION_LENGTH}
      GROUP BY s.session_id, s.started_at, s.ended_at`,
  },
  {
    // Time-based split, never random: sessions starting on the last calendar day (UTC) are test, the day before is
    // validation (when the data spans less than 3 days: the last 10% / previous 10% of the time span).
    name: 'splits',
    sql: `
      WITH bounds AS (
        SELECT min(started_at) AS lo, max(started_at) AS hi FROM session_sequences
      ), cut AS (
        SELECT CASE WHEN hi - lo >= INTERVAL 3 DAY THEN date_trunc('day', hi)
                    ELSE lo + (hi - lo) * 0.9 END AS test_start,
               CASE WHEN hi - lo >= INTERVAL 3 DAY THEN date_trunc('day', hi) - INTERVAL 1 DAY
                    ELSE lo + (hi - lo) * 0.8 END AS validation_start
        FROM bounds
      )
      SELECT q.session_id, q.started_at,
             CASE WHEN q.started_at >= cut.test_start THEN 'test'
                  WHEN q.started_at >= cut.validation_start THEN 'validation'
                  ELSE 'train' END AS split,
             cut.validation_start, cut.test_start
      FROM session_sequences q, cut`,
  },
];
