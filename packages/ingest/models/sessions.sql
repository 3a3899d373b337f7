-- One row per session of item events.
SELECT session_id,
       min(ts) AS started_at,
       max(ts) AS ended_at,
       count(*) AS n_events,
       count(DISTINCT item_id) AS n_items,
       count(*) FILTER (WHERE event_type = 'purchase') AS n_purchases,
       any_value(user_id) AS user_id,
       any_value(session_source) AS session_source
FROM {{ ref('stg_events') }}
GROUP BY session_id
