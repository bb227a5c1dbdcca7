-- Segment sizes and revenue as of {as_of}, each as a share of the whole.
SELECT
    segment,
    customers,
    share                                               AS customer_share,
    revenue,
    CAST(revenue AS DOUBLE) / NULLIF(SUM(CAST(revenue AS DOUBLE)) OVER (), 0) AS revenue_share
FROM rfm_segment
WHERE as_of = DATE '{as_of}' AND kind = 'rfm'
ORDER BY customers DESC, segment
