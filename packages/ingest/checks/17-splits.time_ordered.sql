-- Sessions are split by their last event: every train session ends before every validation session,
-- and both before every test session.
SELECT count(*) AS failures, CASE WHEN count(*) = 0 THEN 'ok' ELSE 'a train or validation session ends after the first later-split session' END AS detail
FROM (SELECT max(ended_at) FILTER (split = 'train') AS tr,
             min(ended_at) FILTER (split = 'validation') AS v0, max(ended_at) FILTER (split = 'validation') AS v1,
             min(ended_at) FILTER (split = 'test') AS te
      FROM {{ ref('splits') }})
WHERE tr >= v0 OR tr >= te OR v1 >= te
