-- The clv_segment mart as of {as_of}: customers, forecast CLV and CRM budget
-- per RFM segment and per market segment (clv_customer_now), the variable
-- cost of the communication plan (clv_plan: kind, segment, channel,
-- contacts per customer over the horizon, cost per contact), and a warning
-- where the plan costs more than the segment's budget. The last row
-- (segment_kind = 'total') adds the fixed costs ({fixed_costs}) to every
-- planned contact and compares the total with the whole budget.
WITH per_customer AS (
    SELECT 'rfm' AS kind, COALESCE(rfm_segment, '(none)') AS segment, clv, budget, historical_clv
    FROM clv_customer_now
    UNION ALL
    SELECT 'market_segment', COALESCE(market_segment, '(none)'), clv, budget, historical_clv
    FROM clv_customer_now
),
agg AS (
    SELECT kind, segment,
           COUNT(*)                            AS customers,
           SUM(CAST(clv AS DECIMAL(18, 2)))    AS total_clv,
           SUM(budget)                         AS total_budget,
           SUM(historical_clv)                 AS historical_clv
    FROM per_customer
    GROUP BY kind, segment
),
plan AS (
    SELECT kind, segment,
           SUM(contacts)                   AS contacts_per_customer,
           SUM(contacts * cost_per_contact) AS cost_per_customer
    FROM clv_plan
    GROUP BY kind, segment
),
segments AS (
    SELECT a.kind, a.segment, a.customers, a.total_clv, a.total_budget, a.historical_clv,
           CAST(COALESCE(p.contacts_per_customer, 0) * a.customers AS DOUBLE)             AS planned_contacts,
           CAST(COALESCE(p.cost_per_customer, 0) * a.customers AS DECIMAL(18, 2))         AS variable_cost
    FROM agg AS a
    LEFT JOIN plan AS p ON p.kind = a.kind AND p.segment = a.segment
),
base_totals AS (
    SELECT COUNT(*)                            AS customers,
           SUM(CAST(clv AS DECIMAL(18, 2)))    AS total_clv,
           SUM(budget)                         AS total_budget,
           SUM(historical_clv)                 AS historical_clv
    FROM clv_customer_now
),
plan_totals AS (
    SELECT COALESCE(SUM(planned_contacts), 0) AS planned_contacts,
           COALESCE(SUM(variable_cost), 0)    AS variable_cost
    FROM segments
),
total AS (
    SELECT 'total' AS kind, 'all' AS segment,
           b.customers, b.total_clv, b.total_budget, b.historical_clv,
           CAST(p.planned_contacts AS DOUBLE)         AS planned_contacts,
           CAST(p.variable_cost AS DECIMAL(18, 2))    AS variable_cost
    FROM base_totals AS b CROSS JOIN plan_totals AS p
),
combined AS (
    SELECT *, CAST(0 AS DECIMAL(18, 2)) AS fixed_costs, 0 AS ord FROM segments
    UNION ALL
    SELECT *, CAST({fixed_costs} AS DECIMAL(18, 2)) AS fixed_costs, 1 AS ord FROM total
)
SELECT
    kind                                                                          AS segment_kind,
    segment,
    CAST(customers AS BIGINT)                                                     AS customers,
    CAST(COALESCE(total_clv, 0) AS DECIMAL(18, 2))                                AS total_clv,
    CAST(COALESCE(total_budget, 0) AS DECIMAL(18, 2))                             AS total_budget,
    CAST(CASE WHEN customers > 0 THEN CAST(COALESCE(total_budget, 0) AS DOUBLE) / customers ELSE 0 END
         AS DECIMAL(18, 2))                                                       AS avg_budget,
    CAST(COALESCE(historical_clv, 0) AS DECIMAL(18, 2))                           AS historical_clv,
    planned_contacts,
    variable_cost,
    fixed_costs,
    CAST(fixed_costs + variable_cost AS DECIMAL(18, 2))                           AS total_cost,
    fixed_costs + variable_cost > COALESCE(total_budget, 0)                       AS over_budget,
    CASE WHEN fixed_costs + variable_cost > COALESCE(total_budget, 0)
         THEN 'the plan costs ' || CAST(CAST(fixed_costs + variable_cost - COALESCE(total_budget, 0) AS DECIMAL(18, 2)) AS VARCHAR)
              || ' more than the budget'
    END                                                                           AS warning
FROM combined
ORDER BY ord, segment_kind DESC, segment
