-- Range: sessions end after they start.
SELECT count(*) AS failures, count(*) || ' sessions ending before they start' AS detail
FROM {{ ref('sessions') }}
WHERE ended_at < started_at
