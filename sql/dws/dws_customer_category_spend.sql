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
  -- The customer's total from a GROUP BY over `spend`, not SUM(...) OVER (PARTITION BY
  -- customer_id): DataFusion 55 runs a window without ORDER BY by holding its whole input,
  -- copying it into one batch and slicing it per customer (1.5 s of CPU and 1 GB nobody
  -- reserved at a million customers, bench/NOTES.md). `spend` is aggregated once for both
  -- readers (engine/shared.rs; DuckDB materializes such a CTE).
  SELECT customer_id, SUM(spend_cny) AS total_cny FROM spend GROUP BY customer_id
)
SELECT
  $ds AS ds,
  s.customer_id,
  s.product_category,
  s.spend_cny,
  t.total_cny,
  CAST(ROW_NUMBER() OVER (PARTITION BY s.customer_id ORDER BY s.spend_cny DESC,
    s.product_category) AS INT) AS category_rank,
  -- The frame is the partition's first row up to this one, not the default RANGE frame (which
  -- gives the same first row but makes DataFusion track peer groups: 1.7 s of CPU at 1 M
  -- customers, bench/NOTES.md).
  first_value(s.product_category) OVER (PARTITION BY s.customer_id
    ORDER BY s.spend_cny DESC, s.product_category ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    AS top_category
FROM spend s JOIN totals t ON t.customer_id = s.customer_id
