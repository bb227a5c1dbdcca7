-- Actual repeat purchase days of the calibration cohort per calendar day, up
-- to {holdout_end}: the "actual" line of the cumulative tracking curve. The
-- cohort is clv_summary_rows (customer_id, first_purchase), registered by the
-- engine from clv_summary; a purchase day counts once per customer, and the
-- first purchase day is not a repeat.
WITH purchase_days AS (
    SELECT customer_id, ts_date(ts) AS d
    FROM transactions
    WHERE customer_id IS NOT NULL AND amount >= 0 AND ts < {holdout_end_exclusive}
    GROUP BY customer_id, ts_date(ts)
)
SELECT p.d AS day, CAST(COUNT(*) AS BIGINT) AS repeat_days
FROM purchase_days AS p
JOIN clv_summary_rows AS c ON c.customer_id = p.customer_id AND p.d > c.first_purchase
GROUP BY p.d
ORDER BY p.d
