-- One column's edges for the quantile scores over all customers at once
-- (rfm_scores_quantile.sql; rfm_score_edges.sql says what edges are):
-- {value} is -recency_days, frequency or monetary. The engine runs the three
-- columns as three queries at the same time, so that their last steps, each a
-- selection over every customer's value on one core, overlap. Scores within
-- market segments take all three per segment from rfm_score_edges.sql.
SELECT quantile_edges({value}, {levels}) AS edges
FROM rfm_base
