-- Traffic-light colours per manager as of {as_of}: clients of each colour.
SELECT
    manager_id,
    COUNT(*)                                       AS clients,
    COUNT(*) FILTER (WHERE colour = 'green')       AS green,
    COUNT(*) FILTER (WHERE colour = 'yellow')      AS yellow,
    COUNT(*) FILTER (WHERE colour = 'red')         AS red
FROM traffic_light
WHERE as_of = DATE '{as_of}'
GROUP BY manager_id
ORDER BY manager_id
