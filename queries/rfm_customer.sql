-- The rfm_customer mart: one row per scored customer as of {as_of}, with the
-- segment from the configured map and the seed-segment flags (rfm_segmented).
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
    s.rfm_cell,
    s.segment,
    s.segment_ru,
    s.one_time_buyer,
    s.dormant,
    s.new_this_month
FROM rfm_segmented AS s
