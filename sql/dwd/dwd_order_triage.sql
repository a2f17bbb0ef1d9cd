-- Triage of ods_order: every landed record once (deduplicated in dwd_order_latest: the latest
-- update, then the latest landing, then a reversal wins), with the reason it cannot be accepted,
-- if any. Reasons in the order of DOMAIN.md; the first that applies is kept; a blank key or
-- customer reference (empty or only whitespace) is null_key. dwd_order takes the accepted rows,
-- dwd_reject the others.
-- Money (DOMAIN.md): amount_cny = round(amount * rate_to_cny, 2) as DECIMAL(18,2), rounding half
-- away from zero (DECIMAL(18,2) x DECIMAL(18,8) multiplies exactly; round() on a decimal rounds
-- half away from zero in DataFusion and DuckDB alike), so every sum of it downstream is exact.
-- Orders are the largest source, so deduplication is its own stage (dwd_order_latest): each plan
-- stays small enough to run within a tight memory limit.
WITH dedup AS (
  SELECT * FROM dwd_order_latest
)
SELECT nonblank(d.order_id) AS source_key,
       d.order_id,
       m.customer_id,
       d.source_system,
       d.source_customer_id,
       d.order_time,
       business_date(d.order_time) AS order_date,
       d.amount,
       d.currency,
       CAST(round(d.amount * fx.rate_to_cny, 2) AS DECIMAL(18, 2)) AS amount_cny,
       d.product_category,
       d.status,
       d.updated_at,
       d.ds AS landing_ds,
       CASE WHEN nonblank(d.order_id) IS NULL OR nonblank(d.source_system) IS NULL
              OR nonblank(d.source_customer_id) IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.order_time) > d.ds THEN 'future_event'
            WHEN d.amount < 0 THEN 'negative_amount'
            WHEN fx.rate_to_cny IS NULL THEN 'unknown_currency'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = d.source_system AND m.source_customer_id = d.source_customer_id
LEFT JOIN seed_fx_rates fx ON fx.currency = d.currency
