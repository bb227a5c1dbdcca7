-- The funnel_reach rows one funnel report counts, with their group.
-- mode = cohort: interests created in [{period_start}, {period_end}),
-- followed up to the as-of day; mode = activity: stage entries that happened
-- in the period. by = all | manager | source | segment | month (the month of
-- creation in cohort mode, of the stage entry in activity mode). A missing
-- group value is '(none)'.
SELECT
    r.*,
    CAST(CASE '{by}'
        WHEN 'manager' THEN COALESCE(r.manager_id, '(none)')
        WHEN 'source'  THEN COALESCE(r.source, '(none)')
        WHEN 'segment' THEN COALESCE(r.market_segment, '(none)')
        WHEN 'month'   THEN COALESCE(
            to_char(CASE '{mode}' WHEN 'cohort' THEN r.created_at ELSE r.entered_at END, '%Y-%m'),
            '(none)')
        ELSE 'all'
    END AS VARCHAR) AS grp
FROM funnel_reach AS r
WHERE CASE '{mode}'
    WHEN 'cohort' THEN r.created_at >= {period_start} AND r.created_at < {period_end}
    ELSE r.entered_at >= {period_start} AND r.entered_at < {period_end}
END
