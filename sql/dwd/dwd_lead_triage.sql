-- Triage of ods_lead: every landed record once, with the reason it cannot be accepted, if any.
-- Deduplication (DOMAIN.md rule 1): the latest landing ds wins (the table has no updated_at);
-- rows tied on ds are ordered by every other column, so the same row wins on every rerun
-- whatever the file order, the number of files or the parallelism. A blank key (empty or only
-- whitespace, see nonblank()) counts as missing: such rows are all kept and rejected as null_key.
-- Reasons in the order of DOMAIN.md; the first that applies is kept. dwd_lead takes the accepted
-- rows, dwd_reject the others.
-- Two phases: keys landed once pass through; only those landed more than once are ordered by
-- the window, and the repeated keys are the hash side of each join (see dwd_order_latest).
WITH landed AS (
  SELECT lead_id, crm_id, rep_id, first_contact_at, ds
  FROM ods_lead
  WHERE ds <= $ds
), repeated AS (
  SELECT lead_id, COUNT(*) AS landings FROM landed GROUP BY lead_id HAVING COUNT(*) > 1
), latest AS (
  SELECT lead_id, crm_id, rep_id, first_contact_at, ds
  FROM (
    SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.lead_id ORDER BY ds DESC,
             crm_id, rep_id, first_contact_at) AS rn
    FROM repeated r JOIN landed l ON r.lead_id = l.lead_id
  )
  WHERE rn = 1 OR nonblank(lead_id) IS NULL
), dedup AS (
  SELECT l.* FROM repeated r RIGHT JOIN landed l ON r.lead_id = l.lead_id
  WHERE r.landings IS NULL
  UNION ALL
  SELECT * FROM latest
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
-- The customer map first: DataFusion builds its hash table from a join's first input (see
-- dwd_order_latest), and the deduplicated rows have no statistics to swap the sides by.
FROM dwd_customer_source_map m
RIGHT JOIN dedup d ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
