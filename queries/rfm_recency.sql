-- rfm_base with each customer's recency as of {as_of}: whole days since the
-- day of the last purchase.
SELECT
    *,
    CAST(CAST(DATE '{as_of}' AS INT) - CAST(CAST(last_purchase AS DATE) AS INT) AS BIGINT) AS recency_days
FROM rfm_base
