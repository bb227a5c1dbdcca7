-- The BTYD summary per customer: x, t_x, T and the mean repeat spend in the
-- calibration period (up to and including {calibration_end}), plus the
-- holdout purchases up to {holdout_end}. Time unit: {unit_days} days (1 = day,
-- 7 = week; fractional, as in the CLV reference and lifetimes).
--
-- * A purchase day is a calendar day with at least one purchase (amount >= 0):
--   several purchases on one day count once, and x = purchase days - 1.
-- * The day's spend is the sum of that day's purchases; the mean repeat spend
--   averages the repeat days (the first day excluded), 0 when x = 0.
-- * Refunds (amount < 0) after the first purchase day are netted into the
--   repeat spend total (refund_total shows how much); a customer whose repeat
--   spend is then zero or negative is left out of Gamma-Gamma by the model,
--   which counts and reports it.
-- * Customers whose first purchase falls after {calibration_end} are not in
--   the calibration cohort and are left out; anonymous receipts take no part.
WITH refunds AS (
    SELECT t.customer_id, SUM(t.amount) AS refund_total
    FROM transactions AS t
    JOIN clv_calibration_rows AS c ON c.customer_id = t.customer_id
    WHERE t.amount < 0 AND t.ts < {calibration_end_exclusive}
      AND ts_date(t.ts) > c.first_purchase
    GROUP BY t.customer_id
),
holdout AS (
    SELECT customer_id,
           COUNT(DISTINCT ts_date(ts)) AS x_holdout,
           SUM(amount)                      AS spend_holdout
    FROM transactions
    WHERE customer_id IS NOT NULL AND amount >= 0
      AND ts >= {calibration_end_exclusive} AND ts < {holdout_end_exclusive}
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    c.first_purchase,
    CAST(c.x AS DOUBLE)                                                                     AS x,
    CAST(CAST(c.last_purchase AS INT) - CAST(c.first_purchase AS INT) AS DOUBLE) / {unit_days} AS t_x,
    CAST(CAST(DATE '{calibration_end}' AS INT) - CAST(c.first_purchase AS INT) AS DOUBLE) / {unit_days} AS "T",
    CASE WHEN c.x > 0
         THEN CAST(COALESCE(c.repeat_spend, 0) + COALESCE(r.refund_total, 0) AS DOUBLE) / c.x
         ELSE 0.0 END                                                                       AS monetary_value,
    CAST(COALESCE(r.refund_total, 0) AS DOUBLE)                                             AS refund_total,
    CAST(COALESCE(h.x_holdout, 0) AS DOUBLE)                                                AS x_holdout,
    CAST(COALESCE(h.spend_holdout, 0) AS DOUBLE)                                            AS spend_holdout,
    CAST(CAST(DATE '{holdout_end}' AS INT) - CAST(DATE '{calibration_end}' AS INT) AS DOUBLE) / {unit_days} AS duration_holdout
FROM clv_calibration_rows AS c
LEFT JOIN refunds AS r ON r.customer_id = c.customer_id
LEFT JOIN holdout AS h ON h.customer_id = c.customer_id
ORDER BY c.customer_id
