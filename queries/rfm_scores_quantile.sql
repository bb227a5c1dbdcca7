-- Tie-stable quantile scores 1..{levels} over rfm_base:
--   score = 1 + floor({levels} * (RANK() - 1) / N)
-- where RANK() - 1 is the number of customers with a strictly smaller value,
-- so equal values always get equal scores; recency is ranked descending (by
-- its negation), so the most recent customers get the top score. A score is
-- one plus the number of edges at or below the value: {r_edges}, {f_edges}
-- and {m_edges} are the arrays rfm_score_edges.sql computed (the lowest value
-- that reaches each score from 2 up), bound as literals, so that every row
-- reads the same few values. Scores within market segments join the edges
-- per segment instead (rfm_scores_quantile_by_group.sql).
SELECT
    *,
    CAST(1 + width_bucket(-recency_days, {r_edges}) AS INT) AS r,
    CAST(1 + width_bucket(frequency, {f_edges}) AS INT)     AS f,
    CAST(1 + width_bucket(monetary, {m_edges}) AS INT)      AS m
FROM rfm_base
