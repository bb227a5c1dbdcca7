-- The manager summary's figures for one period [{start}, {end}), in long
-- form (manager_id, metric, value). Inputs: {traffic_light} (the traffic
-- light as of the period's last day) and {funnel_interest} (the
-- funnel_interest rows as of that day), plus interactions.
--
-- clients, green/yellow/red_share, warm_clients, overdue_interactions,
-- open_interests: from the traffic light at the end of the period.
-- done_interactions, touches_per_client (done / clients) and
-- interactions_<kind>: interactions of the manager done in the period.
-- conversion: interests of the manager created in the period that were won
-- by its end / all created in it; win_rate: won / (won + lost) over the
-- interests closed in the period.
WITH tl AS (
    SELECT
        manager_id,
        CAST(COUNT(*) AS DOUBLE)                                        AS clients,
        CAST(COUNT(*) FILTER (WHERE colour = 'green') AS DOUBLE)        AS green,
        CAST(COUNT(*) FILTER (WHERE colour = 'yellow') AS DOUBLE)       AS yellow,
        CAST(COUNT(*) FILTER (WHERE colour = 'red') AS DOUBLE)          AS red,
        CAST(COUNT(*) FILTER (WHERE warm) AS DOUBLE)                    AS warm_clients,
        CAST(SUM(overdue_interactions) AS DOUBLE)                       AS overdue_interactions,
        CAST(SUM(open_interests) AS DOUBLE)                             AS open_interests
    FROM {traffic_light}
    GROUP BY manager_id
),
done AS (
    SELECT manager_id, COALESCE(lower(kind), '(none)') AS kind, CAST(COUNT(*) AS DOUBLE) AS n
    FROM interactions
    WHERE manager_id IS NOT NULL
      AND COALESCE(lower(status), '') <> 'cancelled'
      AND COALESCE(completed_at, CASE WHEN lower(status) = 'done' THEN planned_at END) >= {start}
      AND COALESCE(completed_at, CASE WHEN lower(status) = 'done' THEN planned_at END) < {end}
    GROUP BY manager_id, COALESCE(lower(kind), '(none)')
),
deals AS (
    SELECT
        manager_id,
        CAST(COUNT(*) FILTER (WHERE created_at >= {start} AND created_at < {end}) AS DOUBLE) AS created,
        CAST(COUNT(*) FILTER (WHERE created_at >= {start} AND created_at < {end} AND outcome = 'won') AS DOUBLE) AS created_won,
        CAST(COUNT(*) FILTER (WHERE closed_at >= {start} AND closed_at < {end} AND outcome = 'won') AS DOUBLE) AS closed_won,
        CAST(COUNT(*) FILTER (WHERE closed_at >= {start} AND closed_at < {end} AND outcome = 'lost') AS DOUBLE) AS closed_lost
    FROM {funnel_interest}
    WHERE manager_id IS NOT NULL
    GROUP BY manager_id
),
done_by_kind AS (
    -- Each kind beside the manager's total, so that the interactions are
    -- scanned once (a CTE referenced twice would be computed twice).
    SELECT
        manager_id,
        kind,
        n,
        SUM(n) OVER (PARTITION BY manager_id)                    AS total,
        ROW_NUMBER() OVER (PARTITION BY manager_id ORDER BY kind) AS kind_no
    FROM done
),
wide AS (
    -- One row per (manager, kind of done interaction); a manager without
    -- any has one row with kind NULL. Every manager in any input is here.
    SELECT
        COALESCE(m.manager_id, d.manager_id)              AS manager_id,
        d.kind,
        d.n,
        COALESCE(d.kind_no, 1)                            AS kind_no,
        COALESCE(m.clients, 0)                            AS clients,
        m.green / NULLIF(m.clients, 0)                    AS green_share,
        m.yellow / NULLIF(m.clients, 0)                   AS yellow_share,
        m.red / NULLIF(m.clients, 0)                      AS red_share,
        COALESCE(d.total, 0) / NULLIF(m.clients, 0)       AS touches_per_client,
        COALESCE(d.total, 0)                              AS done_interactions,
        COALESCE(m.overdue_interactions, 0)               AS overdue_interactions,
        COALESCE(m.warm_clients, 0)                       AS warm_clients,
        COALESCE(m.open_interests, 0)                     AS open_interests,
        m.created_won / NULLIF(m.created, 0)              AS conversion,
        m.closed_won / NULLIF(m.closed_won + m.closed_lost, 0) AS win_rate
    FROM (
        SELECT
            COALESCE(tl.manager_id, f.manager_id) AS manager_id,
            tl.clients, tl.green, tl.yellow, tl.red, tl.warm_clients,
            tl.overdue_interactions, tl.open_interests,
            f.created, f.created_won, f.closed_won, f.closed_lost
        FROM tl
        FULL OUTER JOIN deals AS f ON f.manager_id = tl.manager_id
    ) AS m
    FULL OUTER JOIN done_by_kind AS d ON d.manager_id = m.manager_id
)
-- Long form by a cross join with the metric names, so that wide (and the
-- scans under it) is computed once: the manager's figures from its first
-- row, one interactions_<kind> figure from each row with a kind.
SELECT
    w.manager_id,
    k.ord,
    CASE WHEN k.ord = 20 THEN 'interactions_' || w.kind ELSE k.metric END AS metric,
    CASE k.ord
        WHEN 1 THEN w.clients
        WHEN 2 THEN w.green_share
        WHEN 3 THEN w.yellow_share
        WHEN 4 THEN w.red_share
        WHEN 5 THEN w.touches_per_client
        WHEN 6 THEN w.done_interactions
        WHEN 7 THEN w.overdue_interactions
        WHEN 8 THEN w.warm_clients
        WHEN 9 THEN w.open_interests
        WHEN 10 THEN w.conversion
        WHEN 11 THEN w.win_rate
        WHEN 20 THEN w.n
    END AS value
FROM wide AS w
CROSS JOIN (VALUES
    (1, 'clients'), (2, 'green_share'), (3, 'yellow_share'), (4, 'red_share'),
    (5, 'touches_per_client'), (6, 'done_interactions'), (7, 'overdue_interactions'),
    (8, 'warm_clients'), (9, 'open_interests'), (10, 'conversion'), (11, 'win_rate'),
    (20, 'interactions')
) AS k(ord, metric)
WHERE CASE WHEN k.ord = 20 THEN w.kind IS NOT NULL ELSE w.kind_no = 1 END
