-- ods_order deduplicated on order_id: the latest updated_at wins, then the latest landing ds.
-- Rows without an order_id are all kept (dwd_order_triage rejects them as null_key).
SELECT order_id, source_system, source_customer_id, order_time, amount, currency,
       product_category, status, updated_at, ds
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY updated_at DESC NULLS LAST, ds DESC) AS rn
  FROM ods_order
  WHERE ds <= $ds
)
WHERE rn = 1 OR order_id IS NULL
