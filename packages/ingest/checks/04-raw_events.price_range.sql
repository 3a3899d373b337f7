-- Range: prices are finite and not negative.
SELECT count(*) AS failures, count(*) || ' rows with a negative or non-finite price' AS detail
FROM {{ source('raw', 'raw_events') }}
WHERE price < 0 OR NOT isfinite(price)
