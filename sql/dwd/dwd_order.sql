-- Orders from the ERP and the web shop; the customer comes from (source_system, source_customer_id)
-- through dwd_customer_source_map, amounts are converted to CNY with seed_fx_rates.
-- Accepted rows only: see dwd_order_triage for deduplication and rejection.
SELECT order_id, customer_id, source_system, source_customer_id, order_time, order_date, amount, currency, amount_cny, product_category, status, updated_at, landing_ds
FROM dwd_order_triage
WHERE reject_reason IS NULL
