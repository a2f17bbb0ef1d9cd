-- ods_order deduplicated on order_id (DOMAIN.md rule 1): the latest updated_at wins (a NULL
-- updated_at is older than any value), then the latest landing ds; among rows still tied a
-- reversal wins (cancelled, then refunded, then paid), then the other columns in order, so the
-- same row wins on every rerun whatever the file order, the number of files or the parallelism.
-- Rows without an order_id (NULL, empty or only whitespace: see nonblank()) are all kept;
-- dwd_order_triage rejects them as null_key.
-- Two phases: most orders land once (96% of order_ids on generated data), and those pass
-- through; only the order_ids landed more than once are ordered by the window, instead of
-- sorting every row by eleven keys (3.8x faster on 2 M rows; bench/NOTES.md). The repeated keys
-- come first in each join: DataFusion builds its hash table from a join's first input, and with
-- the landed rows there it held all 19 M of them in memory twice at a million customers. A row
-- landed once is one the outer join finds no `landings` for: tested on that column, not on a
-- join key, because DataFusion 55 moved `r.<key> IS NULL` below a two-key RIGHT JOIN as
-- `l.<key> IS NULL` and returned no rows (bench/NOTES.md). `repeated` is read by both joins and
-- aggregated once (src/engine/shared.rs; DuckDB materializes it).
WITH landed AS (
  SELECT order_id, source_system, source_customer_id, order_time, amount, currency,
         product_category, status, updated_at, ds
  FROM ods_order
  WHERE ds <= $ds
), repeated AS (
  SELECT order_id, COUNT(*) AS landings FROM landed GROUP BY order_id HAVING COUNT(*) > 1
), once AS (
  SELECT l.* FROM repeated r RIGHT JOIN landed l ON r.order_id = l.order_id
  WHERE r.landings IS NULL
), latest AS (
  SELECT order_id, source_system, source_customer_id, order_time, amount, currency,
         product_category, status, updated_at, ds
  FROM (
    SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.order_id ORDER BY updated_at DESC NULLS LAST, ds DESC,
             CASE status WHEN 'cancelled' THEN 0 WHEN 'refunded' THEN 1 WHEN 'paid' THEN 2 ELSE 3 END,
             status, source_system, source_customer_id, order_time, amount, currency,
             product_category) AS rn
    FROM repeated r JOIN landed l ON r.order_id = l.order_id
  )
  WHERE rn = 1 OR nonblank(order_id) IS NULL
)
SELECT * FROM once
UNION ALL
SELECT * FROM latest
