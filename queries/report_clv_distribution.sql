-- The CLV histogram as of {as_of} on a logarithmic scale, since CLV is very
-- skewed: bin 0 holds CLV below 1; bin k >= 1 holds CLV in
-- [10^((k-1)/2), 10^(k/2)), i.e. two bins per decade (1, 3.16, 10, 31.6, ...).
SELECT
    CASE WHEN clv < 1 THEN 0
         ELSE 1 + CAST(FLOOR(LOG10(clv) * 2) AS BIGINT)
    END           AS bin,
    COUNT(*)      AS customers,
    SUM(clv)      AS total_clv
FROM clv_customer
WHERE as_of = DATE '{as_of}' AND clv IS NOT NULL
GROUP BY 1
ORDER BY 1
