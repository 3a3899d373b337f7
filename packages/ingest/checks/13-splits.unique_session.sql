SELECT count(*) AS failures, count(*) || ' sessions in more than one split' AS detail
FROM (SELECT session_id FROM {{ ref('splits') }} GROUP BY 1 HAVING count(*) > 1)
