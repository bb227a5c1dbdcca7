-- Per (interest, stage): what the recorded entries (funnel_entries) say
-- about that stage. Each staged entry counts towards its own stage and every
-- earlier one, so one aggregation gives, per stage up to the highest entered:
-- * first_at: the first entry of that stage (NULL for an implied stage);
-- * last_at: the last entry of that stage;
-- * entries: how many entries that stage has (2 or more: reopened);
-- * later_first_at: the first entry of any later stage.
-- The staged entries are in order when no stage was entered after a later
-- one: later_first_at >= last_at at every stage. funnel_interest reads these
-- rows per interest, funnel_reach per (interest, stage).
SELECT
    e.interest_id,
    st.stage_no,
    MIN(e.entered_at) FILTER (WHERE e.stage_no = st.stage_no) AS first_at,
    MAX(e.entered_at) FILTER (WHERE e.stage_no = st.stage_no) AS last_at,
    COUNT(*) FILTER (WHERE e.stage_no = st.stage_no)          AS entries,
    MIN(e.entered_at) FILTER (WHERE e.stage_no > st.stage_no) AS later_first_at
FROM funnel_entries AS e
JOIN funnel_stages AS st ON st.stage_no <= e.stage_no
WHERE e.stage_no IS NOT NULL
GROUP BY e.interest_id, st.stage_no
