-- The manager_summary mart: each figure of manager_metrics for the period
-- ending {as_of} beside the previous period (its baseline), the trend
-- arrow and the colour against the norms (1C KPI style).
--
-- trend: ↑ value > previous, ↓ value < previous, → equal; empty when either
-- is missing. Norms (manager_summary_norms): the most specific one applies
-- (a manager's own, then their team's, then everyone's). Colour: worse than
-- `unacceptable` → red; goal met and the trend not the wrong way → green;
-- anything else (acceptable, or goal met but trending the wrong way) →
-- yellow. No norm → no colour.
WITH figures AS (
    SELECT
        COALESCE(n.manager_id, p.manager_id)  AS manager_id,
        COALESCE(n.ord, p.ord)                AS ord,
        COALESCE(n.metric, p.metric)          AS metric,
        -- A count missing on one side (no calls at all in a period) is 0;
        -- a ratio missing stays missing.
        CASE WHEN n.metric IS NULL AND COALESCE(n.ord, p.ord) IN (1, 6, 7, 8, 9, 20) THEN 0.0
             ELSE n.value END                 AS value,
        CASE WHEN p.metric IS NULL AND COALESCE(n.ord, p.ord) IN (1, 6, 7, 8, 9, 20) THEN 0.0
             ELSE p.value END                 AS previous
    FROM manager_metrics_now AS n
    FULL OUTER JOIN manager_metrics_prev AS p
      ON p.manager_id = n.manager_id AND p.metric = n.metric
),
with_team AS (
    SELECT f.*, mg.team
    FROM figures AS f
    LEFT JOIN manager_summary_managers AS mg ON mg.manager_id = f.manager_id
),
norm_pick AS (
    SELECT
        w.manager_id, w.metric, nm.unacceptable, nm.goal, nm.higher_is_better,
        ROW_NUMBER() OVER (
            PARTITION BY w.manager_id, w.metric
            ORDER BY CASE WHEN nm.manager_id IS NOT NULL THEN 0 WHEN nm.team IS NOT NULL THEN 1 ELSE 2 END
        ) AS rn
    FROM with_team AS w
    JOIN manager_summary_norms AS nm
      ON nm.metric = w.metric
     AND (nm.manager_id = w.manager_id
          OR (nm.manager_id IS NULL AND (nm.team IS NULL OR nm.team = w.team)))
),
judged AS (
    SELECT
        w.*,
        n.unacceptable,
        n.goal,
        n.higher_is_better,
        CASE
            WHEN w.value IS NULL OR w.previous IS NULL THEN NULL
            WHEN w.value > w.previous THEN '↑'
            WHEN w.value < w.previous THEN '↓'
            ELSE '→'
        END AS trend
    FROM with_team AS w
    LEFT JOIN norm_pick AS n ON n.manager_id = w.manager_id AND n.metric = w.metric AND n.rn = 1
)
SELECT
    manager_id,
    team,
    metric,
    CAST(value AS DOUBLE)        AS value,
    CAST(previous AS DOUBLE)     AS previous,
    CAST(trend AS VARCHAR)       AS trend,
    CAST(CASE
        WHEN goal IS NULL OR value IS NULL THEN NULL
        WHEN (higher_is_better AND value < unacceptable) OR (NOT higher_is_better AND value > unacceptable) THEN 'red'
        WHEN ((higher_is_better AND value >= goal) OR (NOT higher_is_better AND value <= goal))
             AND NOT COALESCE((higher_is_better AND trend = '↓') OR (NOT higher_is_better AND trend = '↑'), false)
             THEN 'green'
        ELSE 'yellow'
    END AS VARCHAR)              AS colour,
    CAST(goal AS DOUBLE)         AS goal,
    CAST(unacceptable AS DOUBLE) AS unacceptable,
    DATE '{period_start}'        AS period_start,
    DATE '{as_of}'               AS period_end,
    DATE '{previous_start}'      AS previous_start
FROM judged
ORDER BY manager_id, ord, metric
