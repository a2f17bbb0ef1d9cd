-- dwd_order: one row per order, its latest landed version (the latest updated_at, then the
-- latest landing day), with the order's business date in the pipeline's time zone.
SELECT order_id, customer_id, amount, status, order_time,
       business_date(order_time) AS order_date
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY order_id
                               ORDER BY updated_at DESC NULLS LAST, ds DESC) AS rn
  FROM ods_order
  WHERE ds <= $ds
)
WHERE rn = 1
