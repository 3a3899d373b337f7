-- Range: event times are plausible (1990 to 2100). Catches units read wrongly (seconds taken for
-- milliseconds land in 1970, the reverse tens of thousands of years ahead); the demo's generated data
-- has fixed dates, so the bound does not depend on the clock.
SELECT count(*) AS failures, count(*) || ' events outside [1990-01-01, 2100-01-01)' AS detail
FROM {{ source('raw', 'raw_events') }}
WHERE ts < TIMESTAMP '1990-01-01' OR ts >= TIMESTAMP '2100-01-01'
