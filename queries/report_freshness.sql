-- Data freshness for the dashboard: the last completed load of each table,
-- with the rows it loaded and how many loads the table has had.
SELECT
    table_name,
    MAX(recorded_at)                                   AS last_load,
    LAST_VALUE(rows_loaded ORDER BY recorded_at)    AS rows_loaded,
    COUNT(*)                                           AS loads
FROM load_history
WHERE kind = 'load' AND status = 'complete'
GROUP BY table_name
ORDER BY table_name
