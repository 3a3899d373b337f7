-- Not null: every staged event is an item event with a session.
SELECT count(*) AS failures, count(*) || ' item events without item_id or session_id' AS detail
FROM {{ ref('stg_events') }}
WHERE item_id IS NULL OR session_id IS NULL
