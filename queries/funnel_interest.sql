-- The funnel_interest mart: one row per interest created by the end of the
-- as-of day, with how far it got and how it stands as of {as_of}.
--
-- Treatments (docs/funnel.md):
-- * With a stage history (funnel_entries), the history wins; without one,
--   the interest's current stage (interests.stage) is all we know.
-- * Every interest is at least a lead: reached_stage_no is the highest
--   stage entered, or 1 when nothing better is known (a lost-only or
--   unknown stage).
-- * Outcome as of {as_of}: won when the won stage ({won_no}) was entered,
--   or the export says won and it closed by then; lost when the export says
--   lost (outcome or a "lost" stage) and it closed by then; open otherwise.
--   A reopened interest (a stage entered twice) takes its final state.
-- * Data problems are flagged in `issues`, never dropped.
WITH hist AS (
    -- Per interest with a history: the staged entries' statistics
    -- (funnel_entry_stats, one row per stage up to the highest entered) and
    -- the lost and unknown entries (no stage number).
    SELECT
        interest_id,
        MAX(stage_no)                  AS max_stage_no,
        BOOL_OR(lost)                  AS lost_recorded,
        MIN(won_at)                    AS won_entered_at,
        SUM(unknown)                   AS unknown_entries,
        -- A stage entered twice.
        BOOL_OR(entries > 1)           AS reopened,
        -- A staged entry after a later stage's, by the time entered: sorted
        -- by (entered_at, stage_no), the stage numbers would go down.
        BOOL_OR(later_first_at < last_at) AS out_of_order
    FROM (
        SELECT
            interest_id,
            stage_no,
            false                                          AS lost,
            CASE WHEN stage_no = {won_no} THEN first_at END AS won_at,
            CAST(0 AS BIGINT)                              AS unknown,
            entries,
            later_first_at,
            last_at
        FROM funnel_entry_stats
        UNION ALL
        SELECT
            interest_id,
            NULL,
            stage = 'lost',
            NULL,
            CASE WHEN stage IS NULL THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END,
            CAST(0 AS BIGINT),
            NULL,
            NULL
        FROM funnel_entries
        WHERE stage_no IS NULL
    ) AS facts
    GROUP BY interest_id
),
base AS (
    SELECT
        i.interest_id,
        i.customer_id,
        i.manager_id,
        i.source,
        c.market_segment,
        i.created_at,
        i.amount,
        i.stage                                          AS current_stage_raw,
        m.stage                                          AS current_stage_mapped,
        m.stage_no                                       AS current_stage_no,
        lower(trim(i.outcome))                           AS outcome_raw,
        i.closed_at,
        i.closed_at IS NULL OR i.closed_at < {as_of_end} AS closed_by_as_of,
        h.interest_id IS NOT NULL                        AS has_history,
        h.max_stage_no,
        COALESCE(h.lost_recorded, false)                 AS lost_recorded,
        h.won_entered_at,
        COALESCE(h.unknown_entries, 0)                   AS unknown_entries,
        COALESCE(h.reopened, false)                      AS reopened,
        COALESCE(h.out_of_order, false)                  AS out_of_order
    FROM interests AS i
    LEFT JOIN funnel_stage_map AS m ON m.raw_key = lower(trim(i.stage))
    LEFT JOIN hist AS h ON h.interest_id = i.interest_id
    LEFT JOIN funnel_customer_segment AS c ON c.customer_id = i.customer_id
    WHERE i.created_at IS NULL OR i.created_at < {as_of_end}
),
judged AS (
    SELECT
        b.*,
        CASE
            WHEN b.has_history AND b.max_stage_no = {won_no} THEN true
            WHEN (b.outcome_raw = 'won' OR b.current_stage_no = {won_no})
                 AND b.closed_at IS NOT NULL AND b.closed_at < {as_of_end} THEN true
            WHEN NOT b.has_history AND (b.outcome_raw = 'won' OR b.current_stage_no = {won_no})
                 AND b.closed_at IS NULL THEN true
            ELSE false
        END AS is_won,
        (b.outcome_raw = 'lost' OR b.current_stage_mapped = 'lost' OR b.lost_recorded)
            AND b.closed_by_as_of                         AS lost_signal
    FROM base AS b
),
decided AS (
    SELECT
        j.*,
        CASE WHEN j.is_won THEN 'won' WHEN j.lost_signal THEN 'lost' ELSE 'open' END AS outcome,
        CASE
            WHEN j.is_won THEN {won_no}
            WHEN j.has_history THEN COALESCE(j.max_stage_no, 1)
            -- No history: the current stage; a won stage not yet closed by
            -- the as-of day stands just before won.
            WHEN j.current_stage_no = {won_no} THEN {won_no} - 1
            ELSE COALESCE(j.current_stage_no, 1)
        END AS reached_stage_no,
        CASE
            WHEN j.is_won THEN COALESCE(j.won_entered_at, j.closed_at)
        END AS won_at
    FROM judged AS j
)
SELECT
    d.interest_id,
    d.customer_id,
    d.manager_id,
    d.source,
    d.market_segment,
    d.created_at,
    CAST(d.amount AS DECIMAL(18, 2))                      AS amount,
    d.current_stage_raw,
    CAST(d.reached_stage_no AS INT)                       AS reached_stage_no,
    st.stage                                              AS reached_stage,
    d.outcome,
    CASE WHEN d.outcome <> 'open' THEN d.closed_at END     AS closed_at,
    d.has_history,
    d.reopened,
    d.won_at,
    CASE WHEN d.outcome = 'won' AND d.won_at >= d.created_at
         THEN (date_part('epoch', d.won_at) - date_part('epoch', d.created_at)) / 86400.0
    END                                                   AS days_to_win,
    CAST(concat_ws(',',
        CASE WHEN d.created_at IS NULL THEN 'no_created_at' END,
        CASE WHEN d.outcome = 'won' AND d.won_at < d.created_at THEN 'won_before_created' END,
        CASE WHEN d.outcome = 'lost' AND d.closed_at < d.created_at THEN 'closed_before_created' END,
        CASE WHEN d.out_of_order THEN 'stages_out_of_order' END,
        CASE WHEN d.unknown_entries > 0
               OR (NOT d.has_history AND d.current_stage_raw IS NOT NULL AND d.current_stage_mapped IS NULL)
             THEN 'unknown_stage' END
    ) AS VARCHAR)                                         AS issues
FROM decided AS d
JOIN funnel_stages AS st ON st.stage_no = d.reached_stage_no
