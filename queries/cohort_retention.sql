-- The cohort_retention mart as of {as_of}: customers grouped by the month of
-- their first purchase (the cohort), and for every later calendar month up to
-- the as-of month, how many of them bought in that month. The months each
-- customer bought in are cohort_purchase_months (cohort_purchase_months.sql,
-- materialised as of {as_of}). months_since = 0 is the cohort month itself,
-- so its retention is 1 by construction.
WITH purchase_months AS (
    SELECT customer_id, month FROM cohort_purchase_months
),
cohorts AS (
    SELECT customer_id, MIN(month) AS cohort FROM purchase_months GROUP BY 1
),
sizes AS (
    SELECT cohort, COUNT(*) AS cohort_size FROM cohorts GROUP BY 1
)
SELECT
    CAST(c.cohort AS DATE)                                            AS cohort_month,
    CAST((date_part('year', p.month) - date_part('year', c.cohort)) * 12
         + date_part('month', p.month) - date_part('month', c.cohort) AS INT) AS months_since,
    s.cohort_size                                                     AS cohort_size,
    COUNT(*)                                                          AS customers,
    CAST(COUNT(*) AS DOUBLE) / s.cohort_size                          AS retention
FROM purchase_months AS p
JOIN cohorts AS c ON c.customer_id = p.customer_id
JOIN sizes AS s ON s.cohort = c.cohort
GROUP BY 1, 2, 3
ORDER BY 1, 2
