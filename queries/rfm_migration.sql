-- The rfm_migration mart: how many customers moved from each segment at
-- {from} (rfm_from) to each segment at {to} (rfm_to), and the net revenue they
-- brought between the two dates (monetary at {to} minus monetary at {from}).
-- A customer first scored at {to} comes from '(new)'; one no longer scored
-- (possible with a lookback window) goes to '(gone)'.
SELECT
    DATE '{from}'                                   AS from_date,
    COALESCE(a.segment, '(new)')                    AS from_segment,
    COALESCE(b.segment, '(gone)')                   AS to_segment,
    COUNT(*)                                        AS customers,
    SUM(COALESCE(b.monetary, CAST(0 AS DECIMAL(18, 2))) - COALESCE(a.monetary, CAST(0 AS DECIMAL(18, 2)))) AS revenue
FROM rfm_from AS a
FULL OUTER JOIN rfm_to AS b ON a.customer_id = b.customer_id
GROUP BY 1, 2, 3
ORDER BY from_segment, to_segment
