-- dws_customer_sales: one row per customer with an order, for the run date: paid orders and
-- paid amount (an exact decimal) up to that date.
SELECT $ds AS ds,
       customer_id,
       COUNT(*) FILTER (WHERE status = 'paid') AS paid_orders,
       COALESCE(SUM(amount) FILTER (WHERE status = 'paid'), 0) AS paid_amount
FROM dwd_order
WHERE order_date <= $ds
GROUP BY customer_id
