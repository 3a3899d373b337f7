-- Distribution: broken sessionization shows as (nearly) all sessions of length 1, bots or merged
-- sessions as many sessions longer than the maximum. Judged from {{ var('min_sessions_for_distribution') }} sessions on.
WITH d AS (
  SELECT count(*) AS n,
         count(*) FILTER (WHERE n_events = 1) AS singles,
         count(*) FILTER (WHERE n_events > {{ var('max_session_length') }}) AS too_long,
         quantile_disc(n_events, 0.5) AS p50, quantile_disc(n_events, 0.9) AS p90,
         quantile_disc(n_events, 0.99) AS p99, max(n_events) AS max_len
  FROM {{ ref('sessions') }}
), r AS (
  SELECT CASE WHEN n < {{ var('min_sessions_for_distribution') }} THEN 0
              ELSE CAST(singles > {{ var('max_single_event_share') }} * n AS INTEGER)
                 + CAST(too_long > {{ var('max_long_session_share') }} * n AS INTEGER) END AS failures,
         CASE WHEN n = 0 THEN 'no sessions'
              ELSE n || ' sessions, length p50 ' || p50 || ' p90 ' || p90 || ' p99 ' || p99 || ' max ' || max_len
                   || ', ' || round(100.0 * singles / n, 1) || '% of length 1 (limit ' || 100 * {{ var('max_single_event_share') }} || '%), '
                   || round(100.0 * too_long / n, 2) || '% over {{ var('max_session_length') }} events (limit ' || 100 * {{ var('max_long_session_share') }} || '%)'
                   || CASE WHEN n < {{ var('min_sessions_for_distribution') }} THEN ', too few sessions to judge' ELSE '' END END AS detail
  FROM d
)
SELECT failures, detail, detail AS info FROM r
