-- Triage of ods_product_usage: every landed (crm_id, usage_date) once, with the reason it cannot be
-- accepted, if any. Deduplication (DOMAIN.md rule 1): the latest landing ds wins (the table has no
-- updated_at); rows tied on ds are ordered by their other columns, so the same row wins on every
-- rerun whatever the file order, the number of files or the parallelism. A blank crm_id (empty or
-- only whitespace, see nonblank()) counts as missing: such rows are all kept and rejected as
-- null_key. Reasons in the order of DOMAIN.md; the first that applies is kept.
-- dwd_product_usage takes the accepted rows, dwd_reject the others.
-- Two phases: most (crm_id, usage_date) land once and pass through; only the repeated ones are
-- ordered by the window, and the repeated keys are the hash side of each join (see
-- dwd_order_latest).
WITH landed AS (
  SELECT crm_id, usage_date, active_users, events, ds
  FROM ods_product_usage
  WHERE ds <= $ds
), repeated AS (
  SELECT crm_id, usage_date, COUNT(*) AS landings FROM landed GROUP BY crm_id, usage_date HAVING COUNT(*) > 1
), once AS (
  SELECT l.* FROM repeated r
  RIGHT JOIN landed l ON r.crm_id = l.crm_id AND r.usage_date = l.usage_date
  WHERE r.landings IS NULL
), latest AS (
  SELECT crm_id, usage_date, active_users, events, ds
  FROM (
    SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.crm_id, l.usage_date ORDER BY ds DESC,
             active_users, events) AS rn
    FROM repeated r JOIN landed l ON r.crm_id = l.crm_id AND r.usage_date = l.usage_date
  )
  WHERE rn = 1 OR nonblank(crm_id) IS NULL
), dedup AS (
  SELECT * FROM once
  UNION ALL
  SELECT * FROM latest
)
SELECT nonblank(d.crm_id) || '|' || CAST(d.usage_date AS VARCHAR) AS source_key,
       m.customer_id,
       d.usage_date,
       d.active_users,
       d.events,
       d.ds AS landing_ds,
       CASE WHEN nonblank(d.crm_id) IS NULL OR d.usage_date IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN d.usage_date > d.ds THEN 'future_event'
       END AS reject_reason
-- The customer map first: DataFusion builds its hash table from a join's first input (see
-- dwd_order_latest), and the deduplicated rows have no statistics to swap the sides by.
FROM dwd_customer_source_map m
RIGHT JOIN dedup d ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
