-- Fixed-threshold scores ([rfm] method = "thresholds"). rfm_score_bounds holds,
-- per metric and score, the range (lower, upper]: NULL means unbounded. For
-- recency the ranges run the other way (fewer days, higher score).
SELECT b.*, r.score AS r, f.score AS f, m.score AS m
FROM rfm_base AS b
JOIN rfm_score_bounds AS r
  ON r.metric = 'recency'
 AND (r.lower IS NULL OR CAST(b.recency_days AS DOUBLE) > r.lower)
 AND (r.upper IS NULL OR CAST(b.recency_days AS DOUBLE) <= r.upper)
JOIN rfm_score_bounds AS f
  ON f.metric = 'frequency'
 AND (f.lower IS NULL OR CAST(b.frequency AS DOUBLE) > f.lower)
 AND (f.upper IS NULL OR CAST(b.frequency AS DOUBLE) <= f.upper)
JOIN rfm_score_bounds AS m
  ON m.metric = 'monetary'
 AND (m.lower IS NULL OR CAST(b.monetary AS DOUBLE) > m.lower)
 AND (m.upper IS NULL OR CAST(b.monetary AS DOUBLE) <= m.upper)
