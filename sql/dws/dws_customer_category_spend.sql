-- dws_customer_category_spend: per customer and product category paid for in the RFM window
-- ($ds - $rfm_window_days < order_date <= $ds), the spend (exact amount_cny), the customer's spend
-- over all categories, the category's rank (1 = most spend; equal spends by category name) and
-- the customer's top category (rank 1). Kept as a table of its own: ads_customer_preference reads
-- it five times, and DataFusion computes a CTE once per reference.
WITH spend AS (
  SELECT customer_id, product_category, SUM(amount_cny) AS spend_cny
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds AND order_date > $ds - $rfm_window_days
    AND product_category IS NOT NULL
  GROUP BY customer_id, product_category
), totals AS (
  -- The customer's total and top category from a GROUP BY over `spend`, not SUM(...) OVER
  -- (PARTITION BY customer_id) and FIRST_VALUE(...) OVER (...): DataFusion 55 runs a window
  -- without ORDER BY by holding its whole input (1.5 s of CPU and 1 GB nobody reserved at a
  -- million customers), and a FIRST_VALUE window beside the ROW_NUMBER one costs a second
  -- window pass (bench/NOTES.md). The ordered aggregate takes the same row as rank 1: the same
  -- ORDER BY. `spend` is aggregated once for both readers (engine/shared.rs; DuckDB
  -- materializes such a CTE).
  SELECT customer_id, SUM(spend_cny) AS total_cny,
    first_value(product_category ORDER BY spend_cny DESC, product_category) AS top_category
  FROM spend GROUP BY customer_id
)
SELECT
  $ds AS ds,
  s.customer_id,
  s.product_category,
  s.spend_cny,
  t.total_cny,
  CAST(ROW_NUMBER() OVER (PARTITION BY s.customer_id ORDER BY s.spend_cny DESC,
    s.product_category) AS INT) AS category_rank,
  t.top_category
FROM spend s JOIN totals t ON t.customer_id = s.customer_id
