-- Daily product usage, one row per customer record and day (the latest landing wins).
-- Accepted rows only: see dwd_product_usage_triage for deduplication and rejection.
SELECT customer_id, usage_date, active_users, events, landing_ds
FROM dwd_product_usage_triage
WHERE reject_reason IS NULL
