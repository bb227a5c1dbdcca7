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
done_total AS (
    SELECT manager_id, SUM(n) AS n FROM done GROUP BY manager_id
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
managers_seen AS (
    SELECT manager_id FROM tl
    UNION SELECT manager_id FROM done_total
    UNION SELECT manager_id FROM deals
),
wide AS (
    SELECT
        m.manager_id,
        COALESCE(tl.clients, 0)                           AS clients,
        tl.green / NULLIF(tl.clients, 0)                  AS green_share,
        tl.yellow / NULLIF(tl.clients, 0)                 AS yellow_share,
        tl.red / NULLIF(tl.clients, 0)                    AS red_share,
        COALESCE(d.n, 0) / NULLIF(tl.clients, 0)          AS touches_per_client,
        COALESCE(d.n, 0)                                  AS done_interactions,
        COALESCE(tl.overdue_interactions, 0)              AS overdue_interactions,
        COALESCE(tl.warm_clients, 0)                      AS warm_clients,
        COALESCE(tl.open_interests, 0)                    AS open_interests,
        f.created_won / NULLIF(f.created, 0)              AS conversion,
        f.closed_won / NULLIF(f.closed_won + f.closed_lost, 0) AS win_rate
    FROM managers_seen AS m
    LEFT JOIN tl ON tl.manager_id = m.manager_id
    LEFT JOIN done_total AS d ON d.manager_id = m.manager_id
    LEFT JOIN deals AS f ON f.manager_id = m.manager_id
)
-- Long form by a cross join with the metric names, so that wide (and the
-- scans under it) is computed once.
SELECT
    w.manager_id,
    k.ord,
    k.metric,
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
    END AS value
FROM wide AS w
CROSS JOIN (VALUES
    (1, 'clients'), (2, 'green_share'), (3, 'yellow_share'), (4, 'red_share'),
    (5, 'touches_per_client'), (6, 'done_interactions'), (7, 'overdue_interactions'),
    (8, 'warm_clients'), (9, 'open_interests'), (10, 'conversion'), (11, 'win_rate')
) AS k(ord, metric)
UNION ALL SELECT manager_id, 20, 'interactions_' || kind, n FROM done
