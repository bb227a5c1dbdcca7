-- rfm_base with ranks taken within each market segment ([rfm] score_within =
-- "market_segment"): the same facts, grouped by the customer's segment.
-- Customers without a segment (or without a customers row) rank together.
SELECT
    b.customer_id,
    COALESCE(c.market_segment, '')              AS score_group,
    b.frequency,
    b.monetary,
    b.purchase_revenue,
    b.first_purchase,
    b.last_purchase,
    b.recency_days
FROM rfm_base_all AS b
LEFT JOIN customers AS c ON c.customer_id = b.customer_id
