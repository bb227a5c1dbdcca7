-- The CLV model's holdout check as of {as_of}: mean predicted and actual
-- holdout purchases per customer, by repeat purchases in calibration.
SELECT key AS frequency, customers, predicted, actual
FROM clv_validation
WHERE as_of = DATE '{as_of}' AND section = 'by_frequency'
ORDER BY LENGTH(key), key
