-- Time-based split, never random: sessions starting on the last calendar day (UTC) are test, the day
-- before is validation (when the data spans less than 3 days: the last 10% / previous 10% of the time span).
WITH bounds AS (
  SELECT min(started_at) AS lo, max(started_at) AS hi FROM {{ ref('session_sequences') }}
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
FROM {{ ref('session_sequences') }} q, cut
