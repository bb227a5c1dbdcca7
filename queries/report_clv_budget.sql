-- CRM budget against the planned contact cost per RFM segment as of {as_of}.
SELECT segment, customers, total_clv, total_budget, total_cost, over_budget
FROM clv_segment
WHERE as_of = DATE '{as_of}' AND segment_kind = 'rfm'
ORDER BY total_budget DESC, segment
