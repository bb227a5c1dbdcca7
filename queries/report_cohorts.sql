-- Cohort retention as of {as_of} for the cohorts since {since}.
SELECT cohort_month, months_since, cohort_size, customers, retention
FROM cohort_retention
WHERE as_of = DATE '{as_of}' AND cohort_month >= DATE '{since}'
ORDER BY cohort_month, months_since
