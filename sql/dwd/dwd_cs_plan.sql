-- Customer-success plan assignments (seed 000's A/B test of two plans), one per assignment.
-- Accepted rows only: see dwd_cs_plan_triage for deduplication and rejection.
SELECT assignment_id, customer_id, plan, start_date, assigned_at, landing_ds
FROM dwd_cs_plan_triage
WHERE reject_reason IS NULL
