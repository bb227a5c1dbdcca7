-- Tie-stable quantile scores 1..{levels} over rfm_base:
--   score = 1 + floor({levels} * (RANK() - 1) / N)
-- where RANK() - 1 is the number of customers (in the same score group) with a
-- strictly smaller value, so equal values always get equal scores; recency is
-- ranked descending (by its negation), so the most recent customers get the
-- top score. tie_quantile (crates/engine/src/functions.rs) is exactly that
-- formula over its window: one sort of each column's values, where RANK()
-- would sort every row with all its columns. {score_window} is empty when all
-- customers rank together, PARTITION BY score_group otherwise.
SELECT
    *,
    tie_quantile(-recency_days, {levels}) OVER ({score_window}) AS r,
    tie_quantile(frequency, {levels})     OVER ({score_window}) AS f,
    tie_quantile(monetary, {levels})      OVER ({score_window}) AS m
FROM (
    SELECT
        *,
        CAST(CAST(DATE '{as_of}' AS INT) - CAST(CAST(last_purchase AS DATE) AS INT) AS BIGINT) AS recency_days
    FROM rfm_base
)
