SELECT count(*) AS failures, count(*) || ' duplicated session ids' AS detail
FROM (SELECT session_id FROM {{ ref('session_sequences') }} GROUP BY 1 HAVING count(*) > 1)
