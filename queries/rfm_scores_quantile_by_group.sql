-- Tie-stable quantile scores 1..{levels} within each score group (the market
-- segment), as rfm_scores_quantile.sql: one plus the number of the group's
-- edges (rfm_score_edges.sql) at or below the value.
SELECT
    b.*,
    CAST(1 + width_bucket(-b.recency_days, e.r_edges) AS INT) AS r,
    CAST(1 + width_bucket(b.frequency, e.f_edges) AS INT)     AS f,
    CAST(1 + width_bucket(b.monetary, e.m_edges) AS INT)      AS m
FROM rfm_base AS b
JOIN rfm_score_edges AS e ON e.score_group = b.score_group
