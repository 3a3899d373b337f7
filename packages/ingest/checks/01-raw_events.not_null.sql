-- Every raw event has a type, a time, and a session id or a user to sessionize by.
SELECT count(*) AS failures, count(*) || ' rows with a null key column' AS detail
FROM {{ source('raw', 'raw_events') }}
WHERE event_type IS NULL OR ts IS NULL OR (session_id IS NULL AND user_id IS NULL)
