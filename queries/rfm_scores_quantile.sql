-- Tie-stable quantile scores 1..{levels} over rfm_base:
--   score = 1 + floor({levels} * (RANK() - 1) / N)
-- where RANK() - 1 is the number of customers (in the same score group) with a
-- strictly smaller value, so equal values always get equal scores; recency is
-- ranked descending, so the most recent customers get the top score.
-- rfm_base is a view and DataFusion inlines every reference to it (a CTE is not
-- materialised), so this query reads it exactly once: RANK() and COUNT(*) are
-- window functions over the one aggregate. The earlier form (distinct values,
-- running totals, joined back) referenced it five times, which re-ran the scan
-- of transactions and the per-customer group-by five times (benches/README.md).
WITH base AS (
    SELECT
        *,
        CAST(CAST(DATE '{as_of}' AS INT) - CAST(CAST(last_purchase AS DATE) AS INT) AS BIGINT) AS recency_days
    FROM rfm_base
)
SELECT
    b.*,
    CAST(1 + ({levels} * (CAST(RANK() OVER (PARTITION BY score_group ORDER BY recency_days DESC) AS BIGINT) - 1))
             / COUNT(*) OVER (PARTITION BY score_group) AS INT) AS r,
    CAST(1 + ({levels} * (CAST(RANK() OVER (PARTITION BY score_group ORDER BY frequency ASC) AS BIGINT) - 1))
             / COUNT(*) OVER (PARTITION BY score_group) AS INT) AS f,
    CAST(1 + ({levels} * (CAST(RANK() OVER (PARTITION BY score_group ORDER BY monetary ASC) AS BIGINT) - 1))
             / COUNT(*) OVER (PARTITION BY score_group) AS INT) AS m
FROM base AS b
