-- For the tie-stable quantile scores 1..{levels} (rfm_scores_quantile.sql),
--   score = 1 + floor({levels} * (RANK() - 1) / N),
-- per score group, the lowest value that reaches each score from 2 up:
-- quantile_edges (crates/engine/src/functions/quantile_edges.rs) sorts each
-- column's values once, where RANK() windows would sort every row with all
-- its columns, three times, on one core. Recency is ranked descending (by its
-- negation), so the most recent customers get the top score.
SELECT
    score_group,
    quantile_edges(-recency_days, {levels}) AS r_edges,
    quantile_edges(frequency, {levels})     AS f_edges,
    quantile_edges(monetary, {levels})      AS m_edges
FROM rfm_base
GROUP BY score_group
