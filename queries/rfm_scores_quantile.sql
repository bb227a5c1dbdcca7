-- Tie-stable quantile scores 1..{levels} over rfm_base:
--   score = 1 + floor({levels} * (RANK() - 1) / N)
-- where RANK() - 1 is the number of customers (in the same score group) with a
-- strictly smaller value, so equal values always get equal scores; recency is
-- ranked descending, so the most recent customers get the top score.
-- Instead of sorting every customer three times, each metric's distinct values
-- are counted and their running totals give the ranks: the sorts run over
-- distinct values only (a few hundred for frequency and recency).
WITH base AS (
    SELECT
        *,
        CAST(CAST(DATE '{as_of}' AS INT) - CAST(CAST(last_purchase AS DATE) AS INT) AS BIGINT) AS recency_days
    FROM rfm_base
),
group_size AS (
    SELECT score_group, COUNT(*) AS n FROM base GROUP BY score_group
),
f_rank AS (
    SELECT score_group, frequency,
           COALESCE(SUM(cnt) OVER (PARTITION BY score_group ORDER BY frequency ASC
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS smaller
    FROM (SELECT score_group, frequency, COUNT(*) AS cnt FROM base GROUP BY score_group, frequency)
),
m_rank AS (
    SELECT score_group, monetary,
           COALESCE(SUM(cnt) OVER (PARTITION BY score_group ORDER BY monetary ASC
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS smaller
    FROM (SELECT score_group, monetary, COUNT(*) AS cnt FROM base GROUP BY score_group, monetary)
),
r_rank AS (
    SELECT score_group, recency_days,
           COALESCE(SUM(cnt) OVER (PARTITION BY score_group ORDER BY recency_days DESC
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS smaller
    FROM (SELECT score_group, recency_days, COUNT(*) AS cnt FROM base GROUP BY score_group, recency_days)
)
SELECT
    b.*,
    CAST(1 + ({levels} * r.smaller) / g.n AS INT) AS r,
    CAST(1 + ({levels} * f.smaller) / g.n AS INT) AS f,
    CAST(1 + ({levels} * m.smaller) / g.n AS INT) AS m
FROM base AS b
JOIN group_size AS g ON g.score_group = b.score_group
JOIN f_rank AS f ON f.score_group = b.score_group AND f.frequency = b.frequency
JOIN m_rank AS m ON m.score_group = b.score_group AND m.monetary = b.monetary
JOIN r_rank AS r ON r.score_group = b.score_group AND r.recency_days = b.recency_days
