-- Accepted values: every refused row has a known reason code (rows quarantined by warehouse files of
-- earlier skiff versions have none).
SELECT count(*) AS failures, count(*) || ' quarantined rows with an unknown reason code' AS detail
FROM {{ source('raw', 'quarantine') }}
WHERE code IS NOT NULL AND code NOT IN ('json', 'missing', 'type', 'value', 'timestamp', 'oversize', 'utf8', 'csv')
