-- dws_lead_followup: one row per lead with the outcome of seed 000's 3-7-21 follow-up rule as of
-- the end of $ds. A step is met by an interaction with the lead's customer in
-- [first_contact_at, first_contact_at + deadline]; a deadline is due once its business date is
-- on or before $ds.
WITH leads AS (
  SELECT lead_id, customer_id, rep_id, first_contact_at
  FROM dwd_lead
  WHERE business_date(first_contact_at) <= $ds
),
hits AS (
  SELECT l.lead_id,
    MAX(CASE WHEN i.channel = 'email' AND i.direction = 'out' AND i.purpose = 'thanks'
      AND i.occurred_at <= l.first_contact_at + INTERVAL '3 hours' THEN 1 ELSE 0 END) AS thanks,
    MAX(CASE WHEN i.channel IN ('call', 'meeting', 'visit') AND i.purpose = 'needs_analysis'
      AND i.occurred_at <= l.first_contact_at + INTERVAL '7 days' THEN 1 ELSE 0 END) AS needs,
    MAX(CASE WHEN i.purpose = 'solution' THEN 1 ELSE 0 END) AS solution
  FROM leads l
  JOIN dwd_interaction i
    ON i.customer_id = l.customer_id
    AND i.occurred_at >= l.first_contact_at
    AND i.occurred_at <= l.first_contact_at + INTERVAL '21 days'
    AND i.interaction_date <= $ds
  GROUP BY l.lead_id
)
SELECT
  l.lead_id,
  l.customer_id,
  l.rep_id,
  l.first_contact_at,
  CAST(date_trunc('month', business_date(l.first_contact_at)) AS DATE) AS first_contact_month,
  COALESCE(h.thanks, 0) = 1 AS thanks_3h_met,
  business_date(l.first_contact_at + INTERVAL '3 hours') <= $ds AS thanks_3h_due,
  COALESCE(h.needs, 0) = 1 AS needs_7d_met,
  business_date(l.first_contact_at + INTERVAL '7 days') <= $ds AS needs_7d_due,
  COALESCE(h.solution, 0) = 1 AS solution_21d_met,
  business_date(l.first_contact_at + INTERVAL '21 days') <= $ds AS solution_21d_due
FROM leads l
LEFT JOIN hits h ON h.lead_id = l.lead_id
