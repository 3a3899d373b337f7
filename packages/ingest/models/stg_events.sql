-- Typed, de-duplicated item events, each with its session: the explicit session id when the row
-- has one, else a new session per user after {{ var('session_gap_minutes') }} minutes of inactivity.
-- Exact duplicates (same session, type, item and time, e.g. one file loaded under two names) keep
-- their first load.
WITH deduped AS (
  SELECT *
  FROM (
    SELECT *, row_number() OVER (
      PARTITION BY coalesce(session_id, 'u:' || user_id), event_type, item_id, ts
      ORDER BY load_id, source_file, line) AS dup
    FROM {{ source('raw', 'raw_events') }}
  )
  WHERE dup = 1
),
by_user AS (
  -- Rows without a session id are sessionized over all their user's events (searches count as activity).
  SELECT *, sum(new_session) OVER (PARTITION BY user_id ORDER BY ts, source_file, line ROWS UNBOUNDED PRECEDING) AS user_session
  FROM (
    SELECT *, CASE
        WHEN lag(ts) OVER w IS NULL OR ts - lag(ts) OVER w > INTERVAL '{{ var('session_gap_minutes') }} minutes' THEN 1
        ELSE 0 END AS new_session
    FROM deduped
    WHERE session_id IS NULL
    WINDOW w AS (PARTITION BY user_id ORDER BY ts, source_file, line)
  )
),
sessionized AS (
  SELECT session_id, 'explicit' AS session_source, event_type, item_id, ts, user_id, price, category, load_id, source_file, line
  FROM deduped WHERE session_id IS NOT NULL
  UNION ALL
  SELECT 'u:' || user_id || ':' || user_session, 'inactivity', event_type, item_id, ts, user_id, price, category, load_id, source_file, line
  FROM by_user
)
SELECT CAST(session_id AS VARCHAR) AS session_id,
       CAST(event_type AS VARCHAR) AS event_type,
       CAST(item_id AS VARCHAR) AS item_id,
       CAST(ts AS TIMESTAMP) AS ts,
       CAST(user_id AS VARCHAR) AS user_id,
       CAST(price AS DOUBLE) AS price,
       CAST(category AS VARCHAR) AS category,
       session_source, load_id, source_file, line
FROM sessionized
WHERE item_id IS NOT NULL AND event_type IN ({{ var('item_event_types') }})
