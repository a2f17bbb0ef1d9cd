-- ads_followup_compliance: seed 000's 3-7-21 rule per first-contact month and rep. Each step counts
-- the leads whose deadline passed by the end of $ds and that met it; its rate divides by the
-- leads whose deadline passed (NULL when none). pending: 21-day deadline after $ds.
-- Text columns are cast to Utf8, the contract's STRING (inputs may arrive as Utf8View).
SELECT
  first_contact_month AS month,
  arrow_cast(rep_id, 'Utf8') AS rep_id,
  COUNT(*) AS leads,
  SUM(CASE WHEN thanks_3h_due AND thanks_3h_met THEN 1 ELSE 0 END) AS thanks_3h,
  CAST(SUM(CASE WHEN thanks_3h_due AND thanks_3h_met THEN 1 ELSE 0 END) AS DOUBLE)
    / NULLIF(SUM(CASE WHEN thanks_3h_due THEN 1 ELSE 0 END), 0) AS thanks_3h_rate,
  SUM(CASE WHEN needs_7d_due AND needs_7d_met THEN 1 ELSE 0 END) AS needs_7d,
  CAST(SUM(CASE WHEN needs_7d_due AND needs_7d_met THEN 1 ELSE 0 END) AS DOUBLE)
    / NULLIF(SUM(CASE WHEN needs_7d_due THEN 1 ELSE 0 END), 0) AS needs_7d_rate,
  SUM(CASE WHEN solution_21d_due AND solution_21d_met THEN 1 ELSE 0 END) AS solution_21d,
  CAST(SUM(CASE WHEN solution_21d_due AND solution_21d_met THEN 1 ELSE 0 END) AS DOUBLE)
    / NULLIF(SUM(CASE WHEN solution_21d_due THEN 1 ELSE 0 END), 0) AS solution_21d_rate,
  SUM(CASE WHEN solution_21d_due THEN 0 ELSE 1 END) AS pending
FROM dws_lead_followup
GROUP BY first_contact_month, rep_id
