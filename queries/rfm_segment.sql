-- The rfm_segment mart: the segment summary over the scored customers
-- (rfm_segmented, what rfm_customer holds), plus the seed segments beside the
-- RFM map (kind = 'seed'; a customer can be in several). share is of all
-- scored customers; avg_check = purchase revenue / purchases, from each
-- customer's exact purchase revenue (rfm_customer's avg_check is rounded to
-- cents, and sums of it over a segment drift by cents).
WITH total AS (SELECT COUNT(*) AS n FROM rfm_segmented),
rfm AS (
    SELECT 'rfm' AS kind, segment, COUNT(*) AS customers, SUM(monetary) AS revenue,
           SUM(purchase_revenue) AS purchase_revenue, SUM(frequency) AS purchases,
           AVG(CAST(recency_days AS DOUBLE)) AS avg_recency_days
    FROM rfm_segmented GROUP BY segment
),
seed AS (
    SELECT 'seed' AS kind, 'one_time_buyers' AS segment, COUNT(*) AS customers, SUM(monetary) AS revenue,
           SUM(purchase_revenue) AS purchase_revenue, SUM(frequency) AS purchases,
           AVG(CAST(recency_days AS DOUBLE)) AS avg_recency_days
    FROM rfm_segmented WHERE one_time_buyer
    UNION ALL
    SELECT 'seed', 'dormant', COUNT(*), SUM(monetary), SUM(purchase_revenue), SUM(frequency),
           AVG(CAST(recency_days AS DOUBLE))
    FROM rfm_segmented WHERE dormant
    UNION ALL
    SELECT 'seed', 'new_this_month', COUNT(*), SUM(monetary), SUM(purchase_revenue), SUM(frequency),
           AVG(CAST(recency_days AS DOUBLE))
    FROM rfm_segmented WHERE new_this_month
    UNION ALL
    SELECT 'seed', 'birthday_soon', COUNT(*), SUM(r.monetary), SUM(r.purchase_revenue), SUM(r.frequency),
           AVG(CAST(r.recency_days AS DOUBLE))
    FROM rfm_birthdays AS b LEFT JOIN rfm_segmented AS r ON r.customer_id = b.customer_id
)
SELECT
    x.segment,
    x.customers,
    CAST(x.customers AS DOUBLE) / CAST(NULLIF(total.n, 0) AS DOUBLE)      AS share,
    -- The type a sum of the mart's DECIMAL(18, 2) monetary has.
    CAST(COALESCE(x.revenue, 0) AS DECIMAL(28, 2))                       AS revenue,
    CAST(x.purchase_revenue / NULLIF(x.purchases, 0) AS DECIMAL(18, 2))  AS avg_check,
    x.avg_recency_days,
    x.kind
FROM (SELECT * FROM rfm UNION ALL SELECT * FROM seed) AS x
CROSS JOIN total
ORDER BY x.kind, x.customers DESC, x.segment
