-- The funnel_stage report: one row per (group, stage) over funnel_selected.
--
-- entered = interests that entered the stage; advanced + lost + still_open
-- + won = entered. conversion_to_next = entered(next stage) / entered;
-- overall_conversion = entered(won stage) / entered(first stage);
-- win_rate = won / (won + lost); most_lost marks the stage(s) where most
-- interests were lost (lost_rate = lost / entered beside it).
-- sales_velocity = open interests × average won amount × win rate /
-- average days to win (money per day).
WITH groups AS (
    SELECT DISTINCT grp FROM funnel_selected
),
per_stage AS (
    SELECT
        grp, stage_no,
        COUNT(*)                                         AS entered,
        COUNT(*) FILTER (WHERE fate = 'advanced')        AS advanced,
        COUNT(*) FILTER (WHERE fate = 'lost')            AS lost,
        COUNT(*) FILTER (WHERE fate = 'open')            AS still_open,
        COUNT(*) FILTER (WHERE fate = 'won')             AS won,
        COUNT(*) FILTER (WHERE NOT recorded)             AS implied,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY days_in_stage) AS days_in_stage_median,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY days_in_stage) AS days_in_stage_p90
    FROM funnel_selected
    GROUP BY grp, stage_no
),
per_group AS (
    SELECT
        grp,
        COUNT(*) FILTER (WHERE fate = 'won')             AS group_won,
        COUNT(*) FILTER (WHERE fate = 'lost')            AS group_lost,
        COUNT(*) FILTER (WHERE fate = 'open')            AS group_open,
        AVG(CAST(amount AS DOUBLE)) FILTER (WHERE fate = 'won') AS avg_won_amount,
        AVG(days_to_win) FILTER (WHERE fate = 'won')     AS avg_days_to_win,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY days_to_win) AS days_to_win_median,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY days_to_win) AS days_to_win_p90
    FROM funnel_selected
    GROUP BY grp
),
grid AS (
    SELECT
        g.grp, st.stage_no, st.stage,
        COALESCE(p.entered, 0)    AS entered,
        COALESCE(p.advanced, 0)   AS advanced,
        COALESCE(p.lost, 0)       AS lost,
        COALESCE(p.still_open, 0) AS still_open,
        COALESCE(p.won, 0)        AS won,
        COALESCE(p.implied, 0)    AS implied,
        p.days_in_stage_median,
        p.days_in_stage_p90
    FROM groups AS g
    CROSS JOIN funnel_stages AS st
    LEFT JOIN per_stage AS p ON p.grp = g.grp AND p.stage_no = st.stage_no
),
framed AS (
    SELECT
        grid.*,
        LEAD(entered) OVER (PARTITION BY grp ORDER BY stage_no)                  AS next_entered,
        FIRST_VALUE(entered) OVER (PARTITION BY grp ORDER BY stage_no)           AS first_entered,
        MAX(lost) OVER (PARTITION BY grp)                                         AS max_lost,
        MAX(CASE WHEN stage_no = {won_no} THEN entered END) OVER (PARTITION BY grp) AS won_entered
    FROM grid
)
SELECT
    f.grp                                                                      AS "group",
    f.stage_no,
    f.stage,
    CAST(f.entered AS BIGINT)                                                  AS entered,
    CAST(f.advanced AS BIGINT)                                                 AS advanced,
    CAST(f.lost AS BIGINT)                                                     AS lost,
    CAST(f.still_open AS BIGINT)                                               AS still_open,
    CAST(f.won AS BIGINT)                                                      AS won,
    CAST(f.implied AS BIGINT)                                                  AS implied,
    CAST(f.next_entered AS DOUBLE) / CAST(NULLIF(f.entered, 0) AS DOUBLE)      AS conversion_to_next,
    CAST(f.entered AS DOUBLE) / CAST(NULLIF(f.first_entered, 0) AS DOUBLE)     AS share_of_first,
    CAST(f.lost AS DOUBLE) / CAST(NULLIF(f.entered, 0) AS DOUBLE)              AS lost_rate,
    f.lost = f.max_lost AND f.lost > 0                                         AS most_lost,
    CAST(f.days_in_stage_median AS DOUBLE)                                     AS days_in_stage_median,
    CAST(f.days_in_stage_p90 AS DOUBLE)                                        AS days_in_stage_p90,
    CAST(f.won_entered AS DOUBLE) / CAST(NULLIF(f.first_entered, 0) AS DOUBLE) AS overall_conversion,
    CAST(g.group_won AS DOUBLE) / CAST(NULLIF(g.group_won + g.group_lost, 0) AS DOUBLE) AS win_rate,
    CAST(g.group_open AS BIGINT)                                               AS open_interests,
    CAST(g.days_to_win_median AS DOUBLE)                                       AS days_to_win_median,
    CAST(g.days_to_win_p90 AS DOUBLE)                                          AS days_to_win_p90,
    CAST(g.avg_won_amount AS DOUBLE)                                           AS avg_won_amount,
    CAST(g.group_open AS DOUBLE) * g.avg_won_amount
        * (CAST(g.group_won AS DOUBLE) / CAST(NULLIF(g.group_won + g.group_lost, 0) AS DOUBLE))
        / NULLIF(g.avg_days_to_win, 0)                                         AS sales_velocity,
    CAST('{mode}' AS VARCHAR)                                                  AS mode,
    CAST('{by}' AS VARCHAR)                                                    AS grouped_by,
    DATE '{period_start_date}'                                                 AS period_start,
    DATE '{period_end_date}'                                                   AS period_end
FROM framed AS f
JOIN per_group AS g ON g.grp = f.grp
ORDER BY f.grp, f.stage_no
