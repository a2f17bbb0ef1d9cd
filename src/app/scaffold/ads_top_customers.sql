-- ads_top_customers: the customers with the highest paid amount on the run date; equal amounts
-- share a rank, so more than top_n rows can appear.
SELECT customer_id, paid_orders, paid_amount, sales_rank
FROM (
  SELECT customer_id, paid_orders, paid_amount,
         RANK() OVER (ORDER BY paid_amount DESC) AS sales_rank
  FROM dws_customer_sales
  WHERE ds = $ds AND paid_orders > 0
)
WHERE sales_rank <= $top_n
