-- ads_customer_preference: seed 001's preference analysis (需求偏好分析). One row per customer and
-- product category the customer paid for in the RFM window ($ds - $rfm_window_days < order_date
-- <= $ds): the spend (amount_cny), its share of the customer's spend in the window, its rank
-- among the customer's categories (1 = most spend; equal spends by category name) and, on every
-- row of the customer, the next category to offer: of the categories the customer did not buy
-- in the window, the one bought by the most customers whose top category is the same as this
-- customer's ("similar customers"), ties by category name; NULL when there is none.
-- Aggregates rather than windows where possible: the GROUP BYs can spill.
WITH spend AS (
  SELECT customer_id, product_category, SUM(amount_cny) AS spend_cny
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds AND order_date > $ds - $rfm_window_days
    AND product_category IS NOT NULL
  GROUP BY customer_id, product_category
), totals AS (
  SELECT customer_id, SUM(spend_cny) AS total_cny,
    first_value(product_category ORDER BY spend_cny DESC, product_category) AS top_category
  FROM spend
  GROUP BY customer_id
), peers AS (
  -- Per top category: how many of its customers bought each category.
  SELECT t.top_category, s.product_category, COUNT(*) AS buyers
  FROM totals t JOIN spend s ON s.customer_id = t.customer_id
  GROUP BY t.top_category, s.product_category
), marks AS (
  -- Every category the customer's peers bought, and every category the customer bought.
  SELECT t.customer_id, p.product_category, p.buyers, 0 AS bought
  FROM peers p JOIN totals t ON t.top_category = p.top_category
  UNION ALL
  SELECT customer_id, product_category, 0 AS buyers, 1 AS bought
  FROM spend
), offers AS (
  SELECT customer_id,
    first_value(product_category ORDER BY buyers DESC, product_category) AS next_category
  FROM (
    SELECT customer_id, product_category, MAX(buyers) AS buyers
    FROM marks
    GROUP BY customer_id, product_category
    HAVING MAX(bought) = 0
  ) unbought
  GROUP BY customer_id
)
SELECT
  $ds AS ds,
  arrow_cast(s.customer_id, 'Utf8') AS customer_id,
  arrow_cast(s.product_category, 'Utf8') AS product_category,
  CAST(s.spend_cny AS DOUBLE) AS spend_cny,
  CASE WHEN t.total_cny > 0 THEN CAST(s.spend_cny AS DOUBLE) / CAST(t.total_cny AS DOUBLE) END
    AS spend_share,
  CAST(ROW_NUMBER() OVER (PARTITION BY s.customer_id ORDER BY s.spend_cny DESC, s.product_category)
    AS INT) AS category_rank,
  s.product_category = t.top_category AS is_top_category,
  arrow_cast(o.next_category, 'Utf8') AS next_category
FROM spend s
JOIN totals t ON t.customer_id = s.customer_id
LEFT JOIN offers o ON o.customer_id = s.customer_id
