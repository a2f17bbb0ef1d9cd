-- ads_customer_preference: seed 001's preference analysis (需求偏好分析). One row per customer and
-- product category the customer paid for in the RFM window (dws_customer_category_spend): the
-- spend, its share of the customer's spend in the window, its rank among the customer's
-- categories and, on every row of the customer, the next category to offer: of the categories
-- the customer did not buy in the window, the one bought by the most customers whose top
-- category is the same as this customer's ("similar customers"), ties by category name; NULL
-- when there is none.
WITH spend AS (
  SELECT customer_id, product_category, spend_cny, total_cny, category_rank, top_category
  FROM dws_customer_category_spend
  WHERE ds = $ds
), peers AS (
  -- Per top category: how many of its customers bought each category.
  SELECT top_category, product_category, COUNT(*) AS buyers
  FROM spend
  GROUP BY top_category, product_category
), marks AS (
  -- Every category the customer's peers bought, and every category the customer bought.
  SELECT s.customer_id, p.product_category, p.buyers, 0 AS bought
  FROM peers p JOIN spend s ON s.top_category = p.top_category AND s.category_rank = 1
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
  CASE WHEN s.total_cny > 0 THEN CAST(s.spend_cny AS DOUBLE) / CAST(s.total_cny AS DOUBLE) END
    AS spend_share,
  s.category_rank,
  s.category_rank = 1 AS is_top_category,
  arrow_cast(o.next_category, 'Utf8') AS next_category
FROM spend s
LEFT JOIN offers o ON o.customer_id = s.customer_id
