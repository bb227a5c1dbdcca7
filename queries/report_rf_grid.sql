-- The R×F heatmap as of {as_of}: customers and their net revenue per cell.
SELECT r, f, COUNT(*) AS customers, SUM(monetary) AS revenue
FROM rfm_customer
WHERE as_of = DATE '{as_of}'
GROUP BY r, f
ORDER BY r, f
