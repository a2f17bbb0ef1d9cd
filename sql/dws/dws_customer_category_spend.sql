-- dws_customer_category_spend: per customer and product category paid for in the RFM window
-- ($ds - $rfm_window_days < order_date <= $ds), the spend (exact amount_cny), the customer's spend
-- over all categories, the category's rank (1 = most spend; equal spends by category name) and
-- the customer's top category (rank 1). Kept as a table of its own: ads_customer_preference reads
-- it five times, and DataFusion computes a CTE once per reference.
SELECT
  $ds AS ds,
  customer_id,
  product_category,
  spend_cny,
  SUM(spend_cny) OVER (PARTITION BY customer_id) AS total_cny,
  CAST(ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY spend_cny DESC, product_category)
    AS INT) AS category_rank,
  -- The frame is the partition's first row up to this one, not the default RANGE frame (which
  -- gives the same first row but makes DataFusion track peer groups: 1.7 s of CPU at 1 M
  -- customers, bench/NOTES.md).
  first_value(product_category) OVER (PARTITION BY customer_id
    ORDER BY spend_cny DESC, product_category ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    AS top_category
FROM (
  SELECT customer_id, product_category, SUM(amount_cny) AS spend_cny
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds AND order_date > $ds - $rfm_window_days
    AND product_category IS NOT NULL
  GROUP BY customer_id, product_category
) spend
