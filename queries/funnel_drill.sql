-- The drill-down («расшифровка») of one stage: the interests of the report
-- (funnel_selected) that entered the stage in funnel_drill_filter, for its
-- manager, with where each stands as of the as-of day.
SELECT
    s.interest_id,
    s.customer_id,
    s.manager_id,
    s.source,
    s.market_segment,
    s.stage,
    s.entered_at,
    s.recorded,
    s.fate,
    s.days_in_stage,
    fi.reached_stage,
    fi.outcome,
    fi.amount,
    fi.created_at,
    fi.closed_at,
    fi.issues
FROM funnel_selected AS s
JOIN funnel_drill_filter AS f
  ON f.stage = s.stage AND (f.manager_id IS NULL OR f.manager_id = s.manager_id)
JOIN funnel_interest_now AS fi ON fi.interest_id = s.interest_id
ORDER BY s.entered_at, s.interest_id
