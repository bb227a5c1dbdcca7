-- Tie-stable quantile scores 1..{levels} over rfm_base:
--   score = 1 + floor({levels} * (RANK() - 1) / N)
-- where RANK() - 1 is the number of customers (in the same score group) with a
-- strictly smaller value, so equal values always get equal scores; recency is
-- ranked descending, so the most recent customers get the top score.
-- The ranks come from the distinct values, not from sorting every customer:
-- RANK() - 1 of a value is the running count of the customers before it, and a
-- score needs only that count. The engine materialises rfm_base once (one row
-- per customer), so reading it four times here costs no second scan of
-- transactions.
WITH base AS (
    SELECT
        *,
        CAST(CAST(DATE '{as_of}' AS INT) - CAST(CAST(last_purchase AS DATE) AS INT) AS BIGINT) AS recency_days
    FROM rfm_base
),
sizes AS (
    SELECT score_group, COUNT(*) AS n FROM base GROUP BY score_group
),
recency_before AS (
    SELECT score_group, recency_days AS v,
           COALESCE(SUM(COUNT(*)) OVER (PARTITION BY score_group ORDER BY recency_days DESC
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM base GROUP BY score_group, recency_days
),
frequency_before AS (
    SELECT score_group, frequency AS v,
           COALESCE(SUM(COUNT(*)) OVER (PARTITION BY score_group ORDER BY frequency ASC
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM base GROUP BY score_group, frequency
),
monetary_before AS (
    SELECT score_group, monetary AS v,
           COALESCE(SUM(COUNT(*)) OVER (PARTITION BY score_group ORDER BY monetary ASC
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM base GROUP BY score_group, monetary
)
SELECT
    b.*,
    CAST(1 + ({levels} * CAST(rb.before AS BIGINT)) / s.n AS INT) AS r,
    CAST(1 + ({levels} * CAST(fb.before AS BIGINT)) / s.n AS INT) AS f,
    CAST(1 + ({levels} * CAST(mb.before AS BIGINT)) / s.n AS INT) AS m
FROM base AS b
JOIN sizes AS s ON s.score_group = b.score_group
JOIN recency_before AS rb ON rb.score_group = b.score_group AND rb.v = b.recency_days
JOIN frequency_before AS fb ON fb.score_group = b.score_group AND fb.v = b.frequency
JOIN monetary_before AS mb ON mb.score_group = b.score_group AND mb.v = b.monetary
