SELECT count(*) AS failures, count(*) || ' duplicated item ids' AS detail
FROM (SELECT item_id FROM {{ ref('item_stats') }} GROUP BY 1 HAVING count(*) > 1)
