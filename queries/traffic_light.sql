-- The traffic_light mart: one row per (owning manager, client) as of {as_of}
-- (1C:CRM «Контроль руководителя»). The owner is customers.manager_id;
-- clients without one are not in the report.
--
-- Indicators:
-- * has_active_interest: the client has an interest open as of the day
--   ({funnel_interest}.outcome = 'open').
-- * no_overdue_interaction: no interaction with the client (by anyone)
--   planned before the end of the as-of day, not cancelled and not done by
--   then.
-- * portrait_filled: every required profile field is present
--   (traffic_light_settings.need_*); portrait_share = present / required.
-- * contact_filled: a valid phone (phone or phones_other) or a valid e-mail,
--   as the loader normalised them.
-- warm: an open interest, or an interaction done in the last
-- {warm_days} days. The colour is the first matching rule of
-- traffic_light_rules (rule_no order), looked up by the client's pattern of
-- failed indicators and warmth in traffic_light_colours; no match is green.
--
-- The rows come unordered: the mart writer and the report sort them.
WITH cfg AS (SELECT * FROM traffic_light_settings),
owned AS (
    SELECT
        c.customer_id,
        c.manager_id,
        CAST(
              CASE WHEN cfg.need_full_name      THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_birth_date     THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_city           THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_market_segment THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_source         THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_email          THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_phone          THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_attributes     THEN 1 ELSE 0 END AS DOUBLE) AS required,
        CAST(
              CASE WHEN cfg.need_full_name      AND NULLIF(trim(c.full_name), '') IS NOT NULL THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_birth_date     AND c.birth_date IS NOT NULL THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_city           AND NULLIF(trim(c.city), '') IS NOT NULL THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_market_segment AND NULLIF(trim(c.market_segment), '') IS NOT NULL THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_source         AND NULLIF(trim(c.source), '') IS NOT NULL THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_email          AND NULLIF(trim(c.email), '') IS NOT NULL THEN 1 ELSE 0 END
            + CASE WHEN cfg.need_phone          AND NULLIF(trim(c.phone), '') IS NOT NULL THEN 1 ELSE 0 END
            -- attributes: an empty JSON object (two characters) counts as missing
            + CASE WHEN cfg.need_attributes     AND length(trim(c.attributes)) > 2 THEN 1 ELSE 0 END AS DOUBLE) AS present,
        (NULLIF(trim(c.phone), '') IS NOT NULL AND COALESCE(c.phone_valid, true))
            OR NULLIF(trim(c.phones_other), '') IS NOT NULL
            OR (NULLIF(trim(c.email), '') IS NOT NULL AND COALESCE(c.email_valid, true)) AS contact_filled
    FROM customers AS c
    CROSS JOIN cfg
    WHERE NULLIF(trim(c.manager_id), '') IS NOT NULL
),
acts AS (
    SELECT
        customer_id,
        COUNT(*) FILTER (
            WHERE planned_at < {as_of_end}
              AND COALESCE(lower(status), '') <> 'cancelled'
              AND (completed_at IS NULL OR completed_at >= {as_of_end})
              AND NOT (completed_at IS NULL AND lower(status) = 'done')
        ) AS overdue_interactions,
        MAX(COALESCE(completed_at, planned_at)) FILTER (
            WHERE (completed_at IS NOT NULL AND completed_at < {as_of_end})
               OR (completed_at IS NULL AND lower(status) = 'done' AND planned_at < {as_of_end})
        ) AS last_done_at
    FROM interactions
    WHERE customer_id IS NOT NULL
    GROUP BY customer_id
),
open_interests AS (
    SELECT customer_id, COUNT(*) AS open_interests
    FROM {funnel_interest}
    WHERE outcome = 'open' AND customer_id IS NOT NULL
    GROUP BY customer_id
),
scored AS (
    SELECT
        o.manager_id,
        o.customer_id,
        COALESCE(oi.open_interests, 0) > 0                 AS has_active_interest,
        COALESCE(a.overdue_interactions, 0) = 0            AS no_overdue_interaction,
        o.present >= o.required                            AS portrait_filled,
        o.contact_filled,
        o.present / NULLIF(o.required, 0)                  AS portrait_share,
        COALESCE(COALESCE(oi.open_interests, 0) > 0
            OR a.last_done_at >= {warm_start}, false)      AS warm,
        CAST(COALESCE(a.overdue_interactions, 0) AS BIGINT) AS overdue_interactions,
        CAST(COALESCE(oi.open_interests, 0) AS BIGINT)      AS open_interests,
        a.last_done_at                                      AS last_touch_at
    FROM owned AS o
    LEFT JOIN acts AS a ON a.customer_id = o.customer_id
    LEFT JOIN open_interests AS oi ON oi.customer_id = o.customer_id
),
keyed AS (
    -- The client's pattern: one bit per failed indicator, and warmth.
    SELECT
        s.*,
          CASE WHEN s.has_active_interest    THEN 0 ELSE 1 END
        + CASE WHEN s.no_overdue_interaction THEN 0 ELSE 2 END
        + CASE WHEN s.portrait_filled        THEN 0 ELSE 4 END
        + CASE WHEN s.contact_filled         THEN 0 ELSE 8 END
        + CASE WHEN s.warm                   THEN 16 ELSE 0 END AS pattern
    FROM scored AS s
)
SELECT
    s.manager_id,
    s.customer_id,
    CAST(COALESCE(c.colour, 'green') AS VARCHAR)           AS colour,
    s.has_active_interest,
    s.no_overdue_interaction,
    s.portrait_filled,
    s.contact_filled,
    CAST(s.portrait_share AS DOUBLE)                        AS portrait_share,
    s.warm,
    CAST(concat_ws(', ',
        CASE WHEN NOT s.has_active_interest THEN 'has_active_interest' END,
        CASE WHEN NOT s.no_overdue_interaction THEN 'no_overdue_interaction' END,
        CASE WHEN NOT s.portrait_filled THEN 'portrait_filled' END,
        CASE WHEN NOT s.contact_filled THEN 'contact_filled' END
    ) AS VARCHAR)                                           AS failed,
    CAST(c.rule_no AS INT)                                  AS rule_no,
    s.overdue_interactions,
    s.open_interests,
    s.last_touch_at
FROM keyed AS s
LEFT JOIN traffic_light_colours AS c ON c.pattern = s.pattern
