-- ods_order deduplicated on order_id (DOMAIN.md rule 1): the latest updated_at wins (a NULL
-- updated_at is older than any value), then the latest landing ds; among rows still tied a
-- reversal wins (cancelled, then refunded, then paid), then the other columns in order, so the
-- same row wins on every rerun whatever the file order, the number of files or the parallelism.
-- Rows without an order_id (NULL, empty or only whitespace: see nonblank()) are all kept;
-- dwd_order_triage rejects them as null_key.
SELECT order_id, source_system, source_customer_id, order_time, amount, currency,
       product_category, status, updated_at, ds
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY updated_at DESC NULLS LAST, ds DESC,
           CASE status WHEN 'cancelled' THEN 0 WHEN 'refunded' THEN 1 WHEN 'paid' THEN 2 ELSE 3 END,
           status, source_system, source_customer_id, order_time, amount, currency,
           product_category) AS rn
  FROM ods_order
  WHERE ds <= $ds
)
WHERE rn = 1 OR nonblank(order_id) IS NULL
