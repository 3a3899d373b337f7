-- Every load and every file adds up (rows = loaded + quarantined + skipped_rows), and the raw
-- tables hold exactly what the loads say they hold.
WITH bad_loads AS (
  SELECT load_id FROM {{ source('raw', 'loads') }} WHERE rows <> loaded + quarantined + coalesce(skipped_rows, 0)
), bad_files AS (
  SELECT load_id FROM {{ source('raw', 'load_files') }} WHERE rows <> loaded + quarantined + coalesce(skipped_rows, 0)
), stored AS (
  SELECT l.load_id, l.loaded, l.quarantined,
         (SELECT count(*) FROM {{ source('raw', 'raw_events') }} r WHERE r.load_id = l.load_id) AS n_events,
         (SELECT count(*) FROM {{ source('raw', 'quarantine') }} q WHERE q.load_id = l.load_id) AS n_refused
  FROM {{ source('raw', 'loads') }} l
), bad_stored AS (
  SELECT load_id FROM stored WHERE n_events <> loaded OR n_refused <> quarantined
)
SELECT (SELECT count(*) FROM bad_loads) + (SELECT count(*) FROM bad_files) + (SELECT count(*) FROM bad_stored) AS failures,
       (SELECT count(*) FROM bad_loads) || ' loads and ' || (SELECT count(*) FROM bad_files) || ' files that do not add up, '
         || (SELECT count(*) FROM bad_stored) || ' loads whose stored rows differ from their counts' AS detail
