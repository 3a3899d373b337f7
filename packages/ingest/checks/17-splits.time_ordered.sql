SELECT count(*) AS failures, CASE WHEN count(*) = 0 THEN 'ok' ELSE 'train sessions start after the first test session' END AS detail
FROM (SELECT max(started_at) FILTER (split = 'train') AS a, min(started_at) FILTER (split = 'test') AS b FROM {{ ref('splits') }})
WHERE a >= b
