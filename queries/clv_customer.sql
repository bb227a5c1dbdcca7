-- The clv_customer mart as of {as_of}: the model's forecast per customer
-- (clv_scores, registered by the engine), the customer's segments, the
-- margin that applies, the personal CRM budget and the historical CLV.
--
-- * margin: [clv.segment_margin] for the customer's market segment, else for
--   their RFM segment, else the global [clv] margin ({margin}).
-- * budget = forecast CLV x margin x spend share ({spend_share}).
-- * historical_clv = net revenue (refunds included) since {history_start} x margin.
WITH history AS (
    SELECT customer_id, SUM(amount) AS revenue
    FROM transactions
    WHERE customer_id IS NOT NULL AND ts >= {history_start} AND ts < {as_of_end}
    GROUP BY customer_id
),
base AS (
    SELECT s.*,
           r.segment        AS rfm_segment,
           m.market_segment AS market_segment,
           COALESCE(mm.margin, rm.margin, {margin}) AS margin,
           h.revenue
    FROM clv_scores AS s
    LEFT JOIN rfm_customer_now AS r ON r.customer_id = s.customer_id
    LEFT JOIN clv_market_segments AS m ON m.customer_id = s.customer_id
    LEFT JOIN clv_margin AS mm ON mm.segment = m.market_segment
    LEFT JOIN clv_margin AS rm ON rm.segment = r.segment
    LEFT JOIN history AS h ON h.customer_id = s.customer_id
)
SELECT
    customer_id,
    rfm_segment,
    market_segment,
    x,
    t_x,
    "T",
    monetary_value,
    CAST(refund_total AS DECIMAL(18, 2))                         AS refund_total,
    spend_treatment,
    expected_purchases,
    p_alive,
    expected_spend,
    clv,
    CAST(margin AS DOUBLE)                                       AS margin,
    CAST(clv * margin * {spend_share} AS DECIMAL(18, 2))         AS budget,
    CAST(COALESCE(revenue, 0) AS DECIMAL(18, 2))                 AS revenue_history,
    CAST(CAST(COALESCE(revenue, 0) AS DOUBLE) * margin AS DECIMAL(18, 2)) AS historical_clv
FROM base
ORDER BY customer_id
