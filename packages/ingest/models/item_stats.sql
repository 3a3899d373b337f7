-- Per-item statistics over all item events, with the number of training sessions the item occurs
-- in (what a model trained on the train split can know about it).
SELECT e.item_id,
       count(*) AS n_events,
       count(DISTINCT e.session_id) AS n_sessions,
       count(*) FILTER (WHERE e.event_type = 'view') AS n_views,
       count(*) FILTER (WHERE e.event_type = 'click') AS n_clicks,
       count(*) FILTER (WHERE e.event_type = 'add_to_cart') AS n_carts,
       count(*) FILTER (WHERE e.event_type = 'purchase') AS n_purchases,
       min(e.ts) AS first_seen,
       max(e.ts) AS last_seen,
       count(DISTINCT e.session_id) FILTER (WHERE p.split = 'train') AS train_sessions
FROM {{ ref('stg_events') }} e
LEFT JOIN {{ ref('splits') }} p USING (session_id)
GROUP BY e.item_id
