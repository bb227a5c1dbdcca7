-- One row per (interest, stage it reached) as of {as_of}: the unit the
-- funnel counts. Input: funnel_interest_now (the funnel_interest rows) and
-- funnel_entry_stats (the recorded history per interest and stage).
--
-- * Skipped stages: with imply_skipped_stages ({imply}) every stage up to
--   the reached one counts as entered; otherwise only recorded stages, the
--   first stage and the reached stage count.
-- * entered_at: the first recorded entry; for an implied stage, the first
--   recorded entry of a later stage; without history, created_at (won_at for
--   the won stage).
-- * fate: advanced (a later stage was reached), or the interest's outcome at
--   its reached stage (won / lost / open). advanced + lost + open + won =
--   entered, stage by stage.
-- * days_in_stage: only for a recorded stage that was left, from its first
--   entry to the first recorded entry of any later stage (or the win); a
--   negative span (timestamps out of order) is left out, not clipped.
WITH spans AS (
    -- The entry statistics are the hash join's build side (written first):
    -- narrow columns, where the interests carry every column.
    SELECT
        x.interest_id, x.customer_id, x.manager_id, x.source, x.market_segment,
        x.created_at, x.amount, x.outcome, x.reached_stage_no, x.won_at, x.days_to_win,
        x.stage_no, x.stage, es.first_at, es.later_first_at
    FROM funnel_entry_stats AS es
    RIGHT JOIN (
        SELECT
            fi.interest_id, fi.customer_id, fi.manager_id, fi.source, fi.market_segment,
            fi.created_at, fi.amount, fi.outcome, fi.reached_stage_no, fi.won_at, fi.days_to_win,
            st.stage_no, st.stage
        FROM funnel_interest_now AS fi
        JOIN funnel_stages AS st ON st.stage_no <= fi.reached_stage_no
    ) AS x ON es.interest_id = x.interest_id AND es.stage_no = x.stage_no
),
shaped AS (
    SELECT
        s.*,
        COALESCE(
            s.first_at,
            s.later_first_at,
            CASE WHEN s.stage_no = {won_no} THEN s.won_at END,
            s.created_at
        ) AS entered_at,
        COALESCE(s.later_first_at, CASE WHEN s.outcome = 'won' THEN s.won_at END) AS left_at
    FROM spans AS s
    WHERE {imply} OR s.first_at IS NOT NULL OR s.stage_no = s.reached_stage_no OR s.stage_no = 1
)
SELECT
    interest_id,
    customer_id,
    manager_id,
    source,
    market_segment,
    created_at,
    amount,
    CAST(stage_no AS INT)                                           AS stage_no,
    stage,
    entered_at,
    first_at IS NOT NULL                                            AS recorded,
    CASE
        WHEN stage_no < reached_stage_no THEN 'advanced'
        ELSE outcome
    END                                                             AS fate,
    CASE
        WHEN first_at IS NOT NULL AND stage_no < reached_stage_no AND left_at >= first_at
        THEN (date_part('epoch', left_at) - date_part('epoch', first_at)) / 86400.0
    END                                                             AS days_in_stage,
    CASE WHEN stage_no = {won_no} THEN days_to_win END              AS days_to_win
FROM shaped
