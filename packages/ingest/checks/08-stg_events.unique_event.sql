-- Unique: de-duplication left one row per (session, type, item, time).
SELECT count(*) AS failures, count(*) || ' duplicated events' AS detail
FROM (SELECT 1 FROM {{ ref('stg_events') }} GROUP BY session_id, event_type, item_id, ts HAVING count(*) > 1)
