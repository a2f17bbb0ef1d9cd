-- Triage of ods_lead: every landed record once (deduplicated: the latest update, then the latest
-- landing wins), with the reason it cannot be accepted, if any. Reasons in the order of DOMAIN.md;
-- the first that applies is kept. dwd_lead takes the accepted rows, dwd_reject the others.
WITH landed AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY ds DESC) AS rn
  FROM ods_lead
  WHERE ds <= $ds
), dedup AS (
  SELECT * FROM landed WHERE rn = 1 OR lead_id IS NULL
)
SELECT d.lead_id AS source_key,
       d.lead_id,
       m.customer_id,
       d.rep_id,
       d.first_contact_at,
       d.ds AS landing_ds,
       CASE WHEN d.lead_id IS NULL OR d.crm_id IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.first_contact_at) > d.ds THEN 'future_event'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
