-- ads_customer_health_monthly: seed 000's monthly health review, one row per business month up to
-- the month of $ds. As of the end of $ds: the renewal rate counts contracts that ended by $ds
-- (a contract ending later this month has no outcome yet), and cross-selling looks at paid
-- orders in the 365 days ending at the month's last day (or $ds for the current month).
WITH months AS (
  SELECT month FROM dws_customer_monthly
  UNION
  SELECT CAST(date_trunc('month', end_date) AS DATE) FROM dwd_contract
  WHERE end_date < CAST(date_trunc('month', $ds) AS DATE) + INTERVAL '1 month'
),
bounds AS (
  SELECT month,
    LEAST(CAST(month + INTERVAL '1 month' AS DATE) - 1, $ds) AS window_end
  FROM months
),
active AS (
  SELECT month, COUNT(*) AS active_customers
  FROM dws_customer_monthly
  WHERE paid_orders > 0 OR interactions > 0
  GROUP BY month
),
renewals AS (
  SELECT CAST(date_trunc('month', k.end_date) AS DATE) AS month,
    CAST(COUNT(r.renewed_from) AS DOUBLE) / COUNT(*) AS renewal_rate
  FROM dwd_contract k
  LEFT JOIN (
    SELECT DISTINCT renewed_from FROM dwd_contract WHERE renewed_from IS NOT NULL
  ) r ON r.renewed_from = k.contract_id
  WHERE k.end_date <= $ds
  GROUP BY 1
),
-- Grouped by window_end, not month: DataFusion 55 wrongly treats month (a key of `months`) as
-- a key of the join below and collapses the per-customer groups when they are keyed by it.
-- Categories numbered in name order: a buyer bought in two or more categories when the
-- smallest and largest category number differ, and MIN/MAX of an integer per (window,
-- customer) costs a fraction of COUNT(DISTINCT name) (M: 12 s instead of 25 s, bench/NOTES.md).
-- The category list is a few rows, written on the left of a RIGHT JOIN as the held side.
categories AS (
  SELECT product_category,
    CAST(ROW_NUMBER() OVER (ORDER BY product_category) AS INT) AS category_no
  FROM (SELECT DISTINCT product_category FROM dwd_order WHERE product_category IS NOT NULL) c
),
-- Paid orders per customer, category and calendar month (numbered year * 12 + month), with the
-- month's last order date. A window (w - 365, w] spans the month of w and at most the 12 before
-- it; a month counts for the window when its last order date falls inside. Equality on the
-- month number keeps this an equi-join: a range join over every order would be a nested loop.
order_months AS (
  SELECT p.customer_id, c.category_no, p.month_no, MAX(p.order_date) AS last_date
  FROM categories c
  RIGHT JOIN (
    SELECT customer_id, product_category, order_date,
      CAST(date_part('year', order_date) AS INT) * 12
        + CAST(date_part('month', order_date) AS INT) AS month_no
    FROM dwd_order
    WHERE status = 'paid' AND order_date <= $ds
  ) p ON c.product_category = p.product_category
  GROUP BY p.customer_id, c.category_no, p.month_no
),
window_months AS (
  SELECT b.month, b.window_end,
    CAST(date_part('year', b.month) AS INT) * 12
      + CAST(date_part('month', b.month) AS INT) - k.back AS month_no
  FROM bounds b
  -- unnest, not VALUES: the VALUES row count made the cross join's estimate large enough
  -- for DataFusion to hold order_months as the join's build side (2 x 500 MB at M), which
  -- does not fit --memory-limit 1GB; unnest has no estimate and the few windows are held.
  CROSS JOIN (SELECT unnest([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) AS back) k
),
-- Grouped by window_end, not by month: DataFusion 55 treats month as a key of window_months
-- and, grouping by it, drops customer_id from the grouping (a wrong functional dependency
-- through the join); window_end is a computed column and keeps the grouping intact.
buyers AS (
  SELECT w.window_end, o.customer_id, MIN(o.category_no) AS first_category,
    MAX(o.category_no) AS last_category
  FROM window_months w
  JOIN order_months o ON o.month_no = w.month_no AND o.last_date > w.window_end - 365
  GROUP BY w.window_end, o.customer_id
),
cross_sell AS (
  SELECT b.month,
    CAST(SUM(CASE WHEN x.first_category < x.last_category THEN 1 ELSE 0 END) AS DOUBLE) / COUNT(*)
      AS cross_sell_rate
  FROM buyers x
  JOIN bounds b ON b.window_end = x.window_end
  GROUP BY b.month
)
SELECT
  m.month,
  COALESCE(a.active_customers, 0) AS active_customers,
  s.nps,
  s.csat,
  r.renewal_rate,
  x.cross_sell_rate
FROM months m
LEFT JOIN active a ON a.month = m.month
LEFT JOIN ads_nps_csat_monthly s ON s.month = m.month AND s.dimension = 'all'
LEFT JOIN renewals r ON r.month = m.month
LEFT JOIN cross_sell x ON x.month = m.month
