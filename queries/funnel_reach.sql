-- One row per (interest, stage it reached) as of {as_of}: the unit the
-- funnel counts. Input: funnel_interest_now (the funnel_interest rows) and
-- funnel_entries (the recorded history).
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
WITH entry_stats AS (
    -- Per (interest, stage): the first recorded entry of that stage, and the
    -- first recorded entry of any later stage. Each entry counts towards its
    -- own stage and every earlier one, so one spillable aggregation gives
    -- both; recorded stages never exceed the reached stage (funnel_interest).
    SELECT
        e.interest_id,
        st.stage_no,
        MIN(e.entered_at) FILTER (WHERE e.stage_no = st.stage_no) AS first_at,
        MIN(e.entered_at) FILTER (WHERE e.stage_no > st.stage_no) AS later_first_at
    FROM funnel_entries AS e
    JOIN funnel_stages AS st ON st.stage_no <= e.stage_no
    WHERE e.stage_no IS NOT NULL
    GROUP BY e.interest_id, st.stage_no
),
spans AS (
    -- The entry statistics are the hash join's build side (written first):
    -- four narrow columns, where the interests carry every column.
    SELECT
        x.interest_id, x.customer_id, x.manager_id, x.source, x.market_segment,
        x.created_at, x.amount, x.outcome, x.reached_stage_no, x.won_at, x.days_to_win,
        x.stage_no, x.stage, es.first_at, es.later_first_at
    FROM entry_stats AS es
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
