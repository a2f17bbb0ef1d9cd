-- Triage of ods_lead: every landed record once, with the reason it cannot be accepted, if any.
-- Deduplication (DOMAIN.md rule 1): the latest landing ds wins (the table has no updated_at);
-- rows tied on ds are ordered by every other column, so the same row wins on every rerun
-- whatever the file order, the number of files or the parallelism. A blank key (empty or only
-- whitespace, see nonblank()) counts as missing: such rows are all kept and rejected as null_key.
-- Reasons in the order of DOMAIN.md; the first that applies is kept. dwd_lead takes the accepted
-- rows, dwd_reject the others.
WITH landed AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY ds DESC,
           crm_id, rep_id, first_contact_at) AS rn
  FROM ods_lead
  WHERE ds <= $ds
), dedup AS (
  SELECT * FROM landed WHERE rn = 1 OR nonblank(lead_id) IS NULL
)
SELECT nonblank(d.lead_id) AS source_key,
       d.lead_id,
       m.customer_id,
       d.rep_id,
       d.first_contact_at,
       d.ds AS landing_ds,
       CASE WHEN nonblank(d.lead_id) IS NULL OR nonblank(d.crm_id) IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.first_contact_at) > d.ds THEN 'future_event'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
