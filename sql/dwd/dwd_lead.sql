-- Leads with their first contact, for the 3-7-21 follow-up rule.
-- Accepted rows only: see dwd_lead_triage for deduplication and rejection.
SELECT lead_id, customer_id, rep_id, first_contact_at, landing_ds
FROM dwd_lead_triage
WHERE reject_reason IS NULL
