-- Time: no event is later than the start of the load that brought it in, beyond
-- {{ var('max_clock_skew_seconds') }} s of clock skew. The split is by time, so a few events from the
-- future would be the whole test split and decide the promotion; they are refused loudly instead.
SELECT count(*) AS failures,
       count(*) || ' events later than their load''s start + {{ var('max_clock_skew_seconds') }} s (latest ' || coalesce(CAST(max(e.ts) AS VARCHAR), '-') || ')' AS detail
FROM {{ source('raw', 'raw_events') }} e
JOIN {{ source('raw', 'loads') }} l USING (load_id)
WHERE e.ts > l.started_at + INTERVAL '{{ var('max_clock_skew_seconds') }} seconds'
