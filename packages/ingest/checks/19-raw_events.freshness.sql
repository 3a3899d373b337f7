-- Freshness: the newest event is at most {{ var('freshness_max_age_hours') }} hours old (0 = no limit,
-- the default: the public datasets are years old).
SELECT *, detail AS info FROM (
WITH f AS (SELECT max(ts) AS newest FROM {{ source('raw', 'raw_events') }})
SELECT CAST({{ var('freshness_max_age_hours') }} > 0 AND newest IS NOT NULL
            AND newest < CAST(now() AS TIMESTAMP) - INTERVAL ({{ var('freshness_max_age_hours') }}) HOUR AS INTEGER) AS failures,
       CASE WHEN newest IS NULL THEN 'no events'
            ELSE 'newest event ' || strftime(newest, '%Y-%m-%dT%H:%M:%SZ') || ', '
                 || round(epoch(CAST(now() AS TIMESTAMP) - newest) / 3600, 1) || ' hours old'
                 || CASE WHEN {{ var('freshness_max_age_hours') }} > 0 THEN ' (limit {{ var('freshness_max_age_hours') }} h)' ELSE ' (no limit set)' END END AS detail
FROM f
)
