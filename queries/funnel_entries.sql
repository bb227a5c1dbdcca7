-- Recorded stage entries up to the end of the as-of day ({as_of_end}), with
-- the raw stage name mapped through the configured aliases
-- (funnel_stage_map: raw_key, stage, stage_no; stage_no is NULL for "lost").
-- An unknown name keeps stage NULL: funnel_issues reports it.
SELECT
    s.interest_id,
    s.stage                 AS raw_stage,
    m.stage,
    m.stage_no,
    s.entered_at
FROM interest_stages AS s
LEFT JOIN funnel_stage_map AS m ON m.raw_key = lower(trim(s.stage))
WHERE s.entered_at < {as_of_end}
