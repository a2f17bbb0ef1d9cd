-- Interactions; intent() classifies the free text with the pipeline's keyword dictionary. The text
-- itself stays out of the warehouse.
-- Accepted rows only: see dwd_interaction_triage for deduplication and rejection.
SELECT interaction_id, customer_id, channel, direction, purpose, occurred_at, interaction_date, rep_id, opened, intent, landing_ds
FROM dwd_interaction_triage
WHERE reject_reason IS NULL
