-- The scored customers (rfm_scores) with their cell and segment from the
-- configured map, and the seed-segment flags: what rfm_customer.sql writes
-- and rfm_segment.sql sums, defined once. The map is bound as the branches of
-- CASEs over the cell key r * 10000 + f * 100 + m (the parameters rfm_cells,
-- segments and segments_ru: "WHEN 50505 THEN ..."), one branch per cell of the
-- whole R×F×M grid, so an R×F map repeats each segment for every M. The map
-- covers every cell (it is checked when loaded).
SELECT
    s.*,
    CASE s.r * 10000 + s.f * 100 + s.m {rfm_cells}END                          AS rfm_cell,
    CASE s.r * 10000 + s.f * 100 + s.m {segments}END                           AS segment,
    CASE s.r * 10000 + s.f * 100 + s.m {segments_ru}END                        AS segment_ru,
    s.frequency = 1                                                           AS one_time_buyer,
    s.recency_days > {dormant_days}                                           AS dormant,
    -- first_purchase is at most as_of, so "in as_of's month" is "since its first day".
    s.first_purchase >= date_trunc('month', CAST(DATE '{as_of}' AS TIMESTAMP)) AS new_this_month
FROM rfm_scores AS s
