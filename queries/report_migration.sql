-- Segment migration into the {as_of} snapshot from the one before it.
SELECT from_date, from_segment, to_segment, customers
FROM rfm_migration
WHERE as_of = DATE '{as_of}'
ORDER BY from_segment, to_segment
