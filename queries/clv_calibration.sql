-- The calibration part of the BTYD summary (see clv_summary.sql): per
-- customer with a purchase up to and including {calibration_end}, the repeat
-- purchase days x, the first and last purchase days and the repeat spend.
-- The engine materialises these rows once (as clv_calibration_rows), since
-- clv_summary.sql needs them twice and DataFusion would otherwise compute the
-- whole per-day aggregation again for the second reference.
WITH purchase_days AS (
    SELECT customer_id,
           ts_date(ts)      AS d,
           SUM(amount)      AS spend
    FROM transactions
    WHERE customer_id IS NOT NULL AND amount >= 0 AND ts < {calibration_end_exclusive}
    GROUP BY customer_id, ts_date(ts)
),
calibration AS (
    SELECT customer_id,
           COUNT(*) - 1                                    AS x,
           MIN(d)                                          AS first_purchase,
           MAX(d)                                          AS last_purchase,
           -- The first day's spend is not a repeat. min_by (crm's own
           -- aggregate, as in DuckDB and Spark) is the spend on the earliest
           -- day, found without sorting or keeping every purchase day.
           SUM(spend) - min_by(spend, d)                   AS repeat_spend
    FROM purchase_days
    GROUP BY customer_id
)
SELECT * FROM calibration
