SELECT count(*) AS failures, count(*) || ' rows with a split other than train, validation, test' AS detail
FROM {{ ref('splits') }}
WHERE split NOT IN ('train', 'validation', 'test')
