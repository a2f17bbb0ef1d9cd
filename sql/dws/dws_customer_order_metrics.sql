-- Paid-order metrics per customer as of $ds (part of dws_customer_snapshot, computed as its own
-- stage so that each plan keeps few large aggregations in memory at once). Amounts are exact
-- decimal sums of DECIMAL(18,2) amount_cny (NULL when no order in the window; the snapshot
-- writes 0), so a rerun gives the same value whatever the order the rows are added in.
-- The distinct categories of the last 365 days are counted by their own grouping (distinct
-- (customer, category) pairs first) rather than by COUNT(DISTINCT ...) beside the sums, which
-- would keep a set of categories per customer inside the one large aggregation.
WITH paid AS (
  SELECT customer_id, order_date, amount_cny, product_category
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds
),
orders AS (
  SELECT customer_id,
    MIN(order_date) AS first_order_date,
    MAX(order_date) AS last_order_date,
    SUM(CASE WHEN order_date > $ds - 30 THEN 1 ELSE 0 END) AS orders_30d,
    SUM(CASE WHEN order_date > $ds - 90 THEN 1 ELSE 0 END) AS orders_90d,
    SUM(CASE WHEN order_date > $ds - 180 THEN 1 ELSE 0 END) AS orders_180d,
    SUM(CASE WHEN order_date > $ds - 365 THEN 1 ELSE 0 END) AS orders_365d,
    COUNT(*) AS orders_lifetime,
    SUM(CASE WHEN order_date > $ds - 30 THEN amount_cny END) AS amount_30d_cny,
    SUM(CASE WHEN order_date > $ds - 90 THEN amount_cny END) AS amount_90d_cny,
    SUM(CASE WHEN order_date > $ds - 180 THEN amount_cny END) AS amount_180d_cny,
    SUM(CASE WHEN order_date > $ds - 365 THEN amount_cny END) AS amount_365d_cny,
    SUM(amount_cny) AS amount_lifetime_cny
  FROM paid
  GROUP BY customer_id
),
categories AS (
  SELECT customer_id, COUNT(*) AS categories_365d
  FROM (SELECT DISTINCT customer_id, product_category FROM paid
        WHERE order_date > $ds - 365 AND product_category IS NOT NULL)
  GROUP BY customer_id
)
SELECT o.*, COALESCE(c.categories_365d, 0) AS categories_365d
FROM orders o
LEFT JOIN categories c ON c.customer_id = o.customer_id
