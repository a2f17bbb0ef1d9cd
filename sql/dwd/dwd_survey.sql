-- Survey answers. A score is valid when its text, NFKC-normalized and trimmed of Unicode
-- whitespace, is an integer literal (optional '+') within 0..10 (NPS) or 1..5 (CSAT).
-- Accepted rows only: see dwd_survey_triage for deduplication and rejection.
SELECT response_id, customer_id, survey_type, score, submitted_at, submit_date, landing_ds
FROM dwd_survey_triage
WHERE reject_reason IS NULL
