-- The traffic light's colour for every pattern of failed indicators and
-- warmth: the first rule of traffic_light_rules (rule_no order) that
-- matches it. 32 patterns, one bit each (traffic_light.sql computes the
-- client's): 1 no active interest, 2 an overdue interaction, 4 the
-- portrait incomplete, 8 the contact info missing, 16 warm. A pattern no
-- rule matches has no row: it is green.
WITH patterns AS (
    SELECT b0.b + 2 * b1.b + 4 * b2.b + 8 * b3.b + 16 * b4.b AS pattern
    FROM (VALUES (0), (1)) AS b0(b)
    CROSS JOIN (VALUES (0), (1)) AS b1(b)
    CROSS JOIN (VALUES (0), (1)) AS b2(b)
    CROSS JOIN (VALUES (0), (1)) AS b3(b)
    CROSS JOIN (VALUES (0), (1)) AS b4(b)
),
first_rule AS (
    SELECT p.pattern, MIN(r.rule_no) AS rule_no
    FROM patterns AS p
    JOIN traffic_light_rules AS r
      ON (NOT r.fail_active_interest OR p.pattern & 1 <> 0)
     AND (NOT r.fail_no_overdue OR p.pattern & 2 <> 0)
     AND (NOT r.fail_portrait OR p.pattern & 4 <> 0)
     AND (NOT r.fail_contact OR p.pattern & 8 <> 0)
     AND (r.warm IS NULL OR r.warm = (p.pattern & 16 <> 0))
    GROUP BY p.pattern
)
SELECT CAST(f.pattern AS BIGINT) AS pattern, f.rule_no, r.colour
FROM first_rule AS f
JOIN traffic_light_rules AS r ON r.rule_no = f.rule_no
