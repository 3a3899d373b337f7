SELECT CAST(count(*) = 0 AS INTEGER) AS failures, count(*) || ' sessions' AS detail, count(*) || ' sessions' AS info
FROM {{ ref('splits') }} WHERE split = 'test'
