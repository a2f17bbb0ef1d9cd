-- Competitor trials, quotes and visits.
-- Accepted rows only: see dwd_competitor_signal_triage for deduplication and rejection.
SELECT signal_id, customer_id, competitor, signal_type, detected_at, detected_date, landing_ds
FROM dwd_competitor_signal_triage
WHERE reject_reason IS NULL
