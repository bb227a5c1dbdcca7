-- Dashboard headline as of {as_of}: customers with a purchase, net revenue
-- (refunds included), and the anonymous receipts that count in revenue but
-- take no part in customer analytics (CONVENTIONS).
SELECT
    COUNT(DISTINCT customer_id) FILTER (WHERE amount >= 0)          AS customers,
    COUNT(*)                                                        AS transactions,
    SUM(amount)                                                     AS net_revenue,
    COUNT(*) FILTER (WHERE customer_id IS NULL)                     AS anonymous_receipts,
    COALESCE(SUM(amount) FILTER (WHERE customer_id IS NULL), 0)     AS anonymous_revenue
FROM transactions
WHERE ts < {as_of_end}
