-- Per-customer purchase facts as of {as_of}, the input of RFM scoring.
-- CONVENTIONS: a purchase is a transaction with amount >= 0 (zero-amount gifts
-- included), a refund has amount < 0, net revenue is the sum of all amounts.
-- Anonymous receipts (no customer_id) take no part. recency_days is whole days
-- from the day of the last purchase to {as_of}. Transactions after the
-- as-of day never count; with a lookback window ({window_filter}) only
-- the last [rfm] lookback_days days count. Customers with refunds only have no purchase and are not scored.
SELECT
    customer_id,
    ''                                          AS score_group,
    COUNT(*) FILTER (WHERE amount >= 0)         AS frequency,
    SUM(amount)                                 AS monetary,
    SUM(amount) FILTER (WHERE amount >= 0)      AS purchase_revenue,
    MIN(ts) FILTER (WHERE amount >= 0)          AS first_purchase,
    MAX(ts) FILTER (WHERE amount >= 0)          AS last_purchase,
    CAST(CAST(DATE '{as_of}' AS INT)
         - CAST(ts_date(MAX(ts) FILTER (WHERE amount >= 0)) AS INT) AS BIGINT) AS recency_days
FROM transactions
WHERE customer_id IS NOT NULL
  AND ts < {as_of_end}
  AND {window_filter}
GROUP BY customer_id
HAVING COUNT(*) FILTER (WHERE amount >= 0) > 0
