-- The funnel per manager and per source as of {as_of} (cohort mode, the
-- nightly default): entries and the share of the first stage reached.
SELECT grouped_by, "group", stage_no, stage, entered, share_of_first
FROM funnel_stage
WHERE as_of = DATE '{as_of}' AND grouped_by IN ('manager', 'source')
ORDER BY grouped_by, "group", stage_no
