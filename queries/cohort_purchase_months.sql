-- The months in which each customer bought, up to {as_of_end}: the input of
-- cohort_retention.sql, which reads it twice (the cohorts and the months
-- after them), so the engine materialises it once. CONVENTIONS: a purchase
-- has amount >= 0; anonymous receipts take no part; nothing after the as-of
-- day counts.
SELECT customer_id, date_trunc('month', ts) AS month
FROM transactions
WHERE customer_id IS NOT NULL
  AND amount >= 0
  AND ts < {as_of_end}
GROUP BY 1, 2
