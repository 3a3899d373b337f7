-- Ordered item sequence per session; repeated clicks are kept (session-rec convention). Sessions
-- with fewer than {{ var('min_session_length') }} or more than {{ var('max_session_length') }} events are left out.
SELECT s.session_id, s.started_at, s.ended_at,
       list(e.item_id ORDER BY e.ts, e.source_file, e.line) AS items,
       count(*) AS length
FROM {{ ref('sessions') }} s
JOIN {{ ref('stg_events') }} e USING (session_id)
WHERE s.n_events BETWEEN {{ var('min_session_length') }} AND {{ var('max_session_length') }}
GROUP BY s.session_id, s.started_at, s.ended_at
