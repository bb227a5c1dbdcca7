-- The manager summary as of {as_of}: each KPI with its previous period,
-- trend arrow and norm colour, for the dashboard's traffic-light table.
SELECT manager_id, team, metric, value, previous, trend, colour
FROM manager_summary
WHERE as_of = DATE '{as_of}'
ORDER BY manager_id, metric
