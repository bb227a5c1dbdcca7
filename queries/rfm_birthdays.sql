-- Seed segment "birthday soon": customers whose birthday falls within the
-- {birthday_days} days after {as_of} (the as-of day itself included; 29 February
-- counts as 28 February in other years). All customers count, buyers or not.
WITH days AS (
    SELECT customer_id,
           birth_date,
           CAST(date_part('year', DATE '{as_of}') AS INT) AS y
    FROM customers
    WHERE birth_date IS NOT NULL
),
next_birthday AS (
    SELECT customer_id,
           CASE
             WHEN make_date(y, CAST(date_part('month', birth_date) AS INT),
                               CASE WHEN date_part('month', birth_date) = 2 AND date_part('day', birth_date) = 29
                                    THEN 28 ELSE CAST(date_part('day', birth_date) AS INT) END) >= DATE '{as_of}'
             THEN make_date(y, CAST(date_part('month', birth_date) AS INT),
                               CASE WHEN date_part('month', birth_date) = 2 AND date_part('day', birth_date) = 29
                                    THEN 28 ELSE CAST(date_part('day', birth_date) AS INT) END)
             ELSE make_date(y + 1, CAST(date_part('month', birth_date) AS INT),
                               CASE WHEN date_part('month', birth_date) = 2 AND date_part('day', birth_date) = 29
                                    THEN 28 ELSE CAST(date_part('day', birth_date) AS INT) END)
           END AS next_birthday
    FROM days
)
SELECT customer_id, next_birthday
FROM next_birthday
WHERE CAST(next_birthday AS INT) - CAST(DATE '{as_of}' AS INT) < {birthday_days}
