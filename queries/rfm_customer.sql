-- The rfm_customer mart: one row per scored customer as of {as_of}, with the
-- segment from the configured map (rfm_segment_map: r, f, m, rfm_cell, segment,
-- segment_ru; one row per cell of the whole R×F×M grid, so an R×F map repeats
-- each segment for every M) and the seed-segment flags.
-- avg_check is the mean purchase amount (refunds excluded); tenure_days counts
-- from the first purchase.
SELECT
    s.customer_id,
    s.score_group,
    s.first_purchase,
    s.last_purchase,
    s.recency_days,
    s.frequency,
    CAST(s.monetary AS DECIMAL(18, 2))                                         AS monetary,
    CAST(s.purchase_revenue / s.frequency AS DECIMAL(18, 2))                   AS avg_check,
    CAST(CAST(DATE '{as_of}' AS INT) - CAST(ts_date(s.first_purchase) AS INT) AS BIGINT) AS tenure_days,
    s.r,
    s.f,
    s.m,
    map.rfm_cell,
    map.segment,
    map.segment_ru,
    s.frequency = 1                                                           AS one_time_buyer,
    s.recency_days > {dormant_days}                                           AS dormant,
    -- first_purchase is at most as_of, so "in as_of's month" is "since its first day".
    s.first_purchase >= date_trunc('month', CAST(DATE '{as_of}' AS TIMESTAMP)) AS new_this_month
FROM rfm_scores AS s
JOIN rfm_segment_map AS map
  ON map.r = s.r AND map.f = s.f AND map.m = s.m
