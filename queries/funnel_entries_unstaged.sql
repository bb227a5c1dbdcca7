-- The recorded entries without a stage number: "lost" and unknown stage
-- names. Once funnel_entry_stats holds the staged entries' statistics,
-- these are the only entries read again (funnel_interest, funnel_issues),
-- so the engine keeps them alone under the name funnel_entries.
SELECT * FROM funnel_entries WHERE stage_no IS NULL
