-- Time-based split, never random. A session belongs to the split in which its LAST event falls
-- (session-rec's rule), so no session is cut in two. Rule '{{ var('split_rule') }}':
--   last-days: test = sessions ending within the final test_days of the data; validation = the same
--              rule (validation_days) applied to the sessions that remain; train = the rest;
--   dates:     fixed cuts test_start / validation_start;
--   fraction:  test = the final test_fraction of the time span, validation = the final
--              validation_fraction of what remains.
-- Times are compared in epoch microseconds.
WITH s AS (
  SELECT session_id, started_at, ended_at, epoch_us(ended_at) AS e FROM {{ ref('session_sequences') }}
), test_cut AS (
  SELECT CASE '{{ var('split_rule') }}'
           WHEN 'last-days' THEN max(e) - CAST(round({{ var('test_days') }} * 86400e6) AS BIGINT)
           WHEN 'dates' THEN epoch_us(TIMESTAMP '{{ var('test_start') }}')
           ELSE min(e) + CAST(round((max(e) - min(e)) * (1 - {{ var('test_fraction') }})) AS BIGINT)
         END AS t
  FROM s
), validation_cut AS (
  SELECT CASE '{{ var('split_rule') }}'
           WHEN 'last-days' THEN max(e) - CAST(round({{ var('validation_days') }} * 86400e6) AS BIGINT)
           WHEN 'dates' THEN epoch_us(TIMESTAMP '{{ var('validation_start') }}')
           ELSE min(e) + CAST(round((max(e) - min(e)) * (1 - {{ var('validation_fraction') }})) AS BIGINT)
         END AS v
  FROM s, test_cut WHERE s.e < test_cut.t
)
SELECT s.session_id, s.started_at, s.ended_at,
       CASE WHEN s.e >= test_cut.t THEN 'test'
            WHEN s.e >= validation_cut.v THEN 'validation'
            ELSE 'train' END AS split,
       make_timestamp(validation_cut.v) AS validation_start, make_timestamp(test_cut.t) AS test_start,
       '{{ var('split_rule_json') }}' AS split_rule
FROM s, test_cut, validation_cut
