-- Accepted values: the event types of the raw contract.
SELECT count(*) AS failures, count(*) || ' rows with another event_type' AS detail
FROM {{ source('raw', 'raw_events') }}
WHERE event_type NOT IN ('view', 'click', 'add_to_cart', 'purchase', 'search')
