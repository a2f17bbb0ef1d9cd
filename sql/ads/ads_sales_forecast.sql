-- ads_sales_forecast (model stage, exponential smoothing): the features query. Monthly paid
-- revenue in CNY per product category, one row per category and month, 0 for a month without
-- sales. Months run from the first month the order history covers from its first day to the
-- last month before $ds's month (complete months only). Revenue is summed as an exact decimal
-- and converted once, so the series has the same bits whatever order rows arrive in.
WITH paid AS (
  SELECT product_category AS category, order_date,
    CAST(date_trunc('month', order_date) AS DATE) AS month, amount_cny
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds AND product_category IS NOT NULL
),
span AS (
  SELECT
    CASE WHEN MIN(order_date) = MIN(month) THEN MIN(month)
      ELSE CAST(MIN(month) + INTERVAL '1 month' AS DATE) END AS first_month,
    CAST(date_trunc('month', $ds) AS DATE) AS this_month
  FROM paid
),
months AS (
  SELECT CAST(unnest(range(first_month, this_month, INTERVAL '1 month')) AS DATE) AS month
  FROM span
),
categories AS (
  SELECT DISTINCT category FROM paid
)
SELECT
  c.category,
  m.month,
  CAST(COALESCE(SUM(p.amount_cny), 0) AS DOUBLE) AS revenue_cny
FROM categories c
CROSS JOIN months m
LEFT JOIN paid p ON p.category = c.category AND p.month = m.month
GROUP BY c.category, m.month
