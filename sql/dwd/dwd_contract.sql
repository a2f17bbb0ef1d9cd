-- Contracts; renewed_from names the contract a renewal continues.
-- Accepted rows only: see dwd_contract_triage for deduplication and rejection.
SELECT contract_id, customer_id, start_date, end_date, annual_value, renewed_from, signed_at, landing_ds
FROM dwd_contract_triage
WHERE reject_reason IS NULL
