-- The same tie-stable quantile scores as rfm_scores_quantile.sql,
--   score = 1 + floor({levels} * (RANK() - 1) / N),
-- computed in bounded memory, for runs under a memory limit. The window
-- function there holds every customer's row at once (outside the memory
-- pool); here each step is a spillable sort or aggregation:
--   1. count the customers per distinct value of each column (r as the
--      negated recency, so the most recent customers get the top score);
--   2. a running sum over the sorted distinct values gives RANK() - 1, the
--      customers with a strictly smaller value, and so each value's score;
--   3. the lowest value of each score is a bucket bound: a few per column;
--   4. each customer's score is the bucket its value falls in
--      (width_bucket over the sorted bounds, crates/engine/src/functions.rs).
-- All three columns go through one pipeline as DECIMAL(38, 2), which holds
-- day counts, purchase counts and money exactly. Scores are per score_group
-- ('' for all customers, or the market segment).
WITH base AS (
    SELECT * FROM rfm_base
),
group_size AS (
    SELECT score_group, COUNT(*) AS total
    FROM base
    GROUP BY score_group
),
value_counts AS (
    SELECT score_group, 'r' AS col, CAST(-recency_days AS DECIMAL(38, 2)) AS v, COUNT(*) AS n
    FROM base GROUP BY 1, 2, 3
    UNION ALL
    SELECT score_group, 'f' AS col, CAST(frequency AS DECIMAL(38, 2)) AS v, COUNT(*) AS n
    FROM base GROUP BY 1, 2, 3
    UNION ALL
    SELECT score_group, 'm' AS col, CAST(monetary AS DECIMAL(38, 2)) AS v, COUNT(*) AS n
    FROM base GROUP BY 1, 2, 3
),
ranked AS (
    SELECT
        score_group,
        col,
        v,
        SUM(n) OVER (
            PARTITION BY score_group, col ORDER BY v
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) - n AS below
    FROM value_counts
),
bounds AS (
    SELECT r.score_group, r.col, CAST(1 + ({levels} * r.below) / g.total AS INT) AS score, MIN(r.v) AS lowest
    FROM ranked AS r
    JOIN group_size AS g ON g.score_group = r.score_group
    GROUP BY 1, 2, 3
),
buckets AS (
    SELECT
        score_group,
        array_agg(lowest ORDER BY lowest) FILTER (WHERE col = 'r') AS r_bounds,
        array_agg(score ORDER BY lowest) FILTER (WHERE col = 'r')  AS r_scores,
        array_agg(lowest ORDER BY lowest) FILTER (WHERE col = 'f') AS f_bounds,
        array_agg(score ORDER BY lowest) FILTER (WHERE col = 'f')  AS f_scores,
        array_agg(lowest ORDER BY lowest) FILTER (WHERE col = 'm') AS m_bounds,
        array_agg(score ORDER BY lowest) FILTER (WHERE col = 'm')  AS m_scores
    FROM bounds
    GROUP BY score_group
)
SELECT
    b.*,
    array_element(k.r_scores, width_bucket(CAST(-b.recency_days AS DECIMAL(38, 2)), k.r_bounds)) AS r,
    array_element(k.f_scores, width_bucket(CAST(b.frequency AS DECIMAL(38, 2)), k.f_bounds))     AS f,
    array_element(k.m_scores, width_bucket(CAST(b.monetary AS DECIMAL(38, 2)), k.m_bounds))      AS m
FROM base AS b
JOIN buckets AS k ON k.score_group = b.score_group
