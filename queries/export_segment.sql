-- A mailing list as of {as_of}: the customers of the chosen RFM segments
-- ({segments}, checked against the mart before binding) with their contacts,
-- RFM scores and CLV. left_out says why a customer may not be mailed (NULL:
-- may be): no customer record, consent not given or unknown, or no valid
-- e-mail and no valid phone. Only marketing_consent = true goes out.
SELECT
    r.customer_id,
    c.full_name,
    c.email,
    c.phone,
    c.city,
    r.segment,
    r.segment_ru,
    r.r,
    r.f,
    r.m,
    r.recency_days,
    r.frequency,
    r.monetary,
    v.clv,
    v.p_alive,
    v.expected_purchases,
    CASE
        WHEN c.customer_id IS NULL THEN 'no_customer_record'
        WHEN c.marketing_consent IS NULL THEN 'consent_unknown'
        WHEN NOT c.marketing_consent THEN 'no_consent'
        WHEN NOT ((c.email IS NOT NULL AND c.email_valid IS NOT FALSE)
               OR (c.phone IS NOT NULL AND c.phone_valid IS NOT FALSE)) THEN 'no_contact'
    END AS left_out
FROM rfm_customer AS r
LEFT JOIN customers AS c ON c.customer_id = r.customer_id
LEFT JOIN clv_customer AS v ON v.customer_id = r.customer_id AND v.as_of = r.as_of
WHERE r.as_of = DATE '{as_of}'
  AND r.segment IN ({segments})
ORDER BY r.segment, r.monetary DESC, r.customer_id
