-- Data problems of the funnel as of {as_of}, one row per (interest, problem):
-- won_before_created, closed_before_created, stages_out_of_order,
-- unknown_stage (with the raw names), no_created_at. The interests stay in
-- the funnel; timings that the problem makes meaningless are left out.
WITH flagged AS (
    SELECT interest_id, manager_id, created_at, closed_at, won_at, current_stage_raw,
           unnest(string_to_array(issues, ',')) AS issue
    FROM funnel_interest_now
    WHERE issues <> ''
),
unknown AS (
    SELECT interest_id, array_to_string(array_sort(array_agg(DISTINCT raw_stage)), ', ') AS names
    FROM funnel_entries
    WHERE stage IS NULL
    GROUP BY interest_id
)
SELECT
    f.interest_id,
    f.manager_id,
    CAST(f.issue AS VARCHAR) AS issue,
    CAST(CASE f.issue
        WHEN 'won_before_created' THEN 'won at ' || CAST(f.won_at AS VARCHAR) || ', created at ' || CAST(f.created_at AS VARCHAR)
        WHEN 'closed_before_created' THEN 'lost at ' || CAST(f.closed_at AS VARCHAR) || ', created at ' || CAST(f.created_at AS VARCHAR)
        WHEN 'unknown_stage' THEN 'stage names not in [funnel] stages or aliases: ' || COALESCE(u.names, f.current_stage_raw)
        WHEN 'stages_out_of_order' THEN 'a later stage was entered before an earlier one'
        ELSE 'created_at is missing'
    END AS VARCHAR) AS detail
FROM flagged AS f
LEFT JOIN unknown AS u ON u.interest_id = f.interest_id
ORDER BY f.interest_id, issue
