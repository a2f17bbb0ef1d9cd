-- Triage of ods_cs_plan: every landed plan assignment once, with the reason it cannot be accepted,
-- if any. Deduplication (DOMAIN.md rule 1): the latest landing ds wins (the table has no
-- updated_at); rows tied on ds are ordered by every other column, so the same row wins on every
-- rerun whatever the file order, the number of files or the parallelism. A blank key (empty or
-- only whitespace, see nonblank()) counts as missing: such rows are all kept and rejected as
-- null_key. A blank plan or a NULL start_date leaves nothing to analyse: missing_value.
-- Plans are read with normalize_label(): NFKC, trimmed of Unicode whitespace, upper case, so
-- 'b\t', 'B\u00a0' and the full-width 'Ｂ' are all plan B.
WITH landed AS (
  SELECT assignment_id, crm_id, plan, start_date, assigned_at, ds
  FROM ods_cs_plan
  WHERE ds <= $ds
), repeated AS (
  SELECT assignment_id, COUNT(*) AS landings FROM landed GROUP BY assignment_id HAVING COUNT(*) > 1
), latest AS (
  SELECT assignment_id, crm_id, plan, start_date, assigned_at, ds
  FROM (
    SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.assignment_id ORDER BY ds DESC,
             crm_id, plan, start_date, assigned_at) AS rn
    FROM repeated r JOIN landed l ON r.assignment_id = l.assignment_id
  )
  WHERE rn = 1 OR nonblank(assignment_id) IS NULL
), dedup AS (
  SELECT l.* FROM repeated r RIGHT JOIN landed l ON r.assignment_id = l.assignment_id
  WHERE r.landings IS NULL
  UNION ALL
  SELECT * FROM latest
)
SELECT nonblank(d.assignment_id) AS source_key,
       d.assignment_id,
       m.customer_id,
       normalize_label(d.plan) AS plan,
       d.start_date,
       d.assigned_at,
       d.ds AS landing_ds,
       CASE WHEN nonblank(d.assignment_id) IS NULL OR nonblank(d.crm_id) IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.assigned_at) > d.ds THEN 'future_event'
            WHEN normalize_label(d.plan) IS NULL OR d.start_date IS NULL THEN 'missing_value'
       END AS reject_reason
-- The customer map first: DataFusion builds its hash table from a join's first input (see
-- dwd_order_latest), and the deduplicated rows have no statistics to swap the sides by.
FROM dwd_customer_source_map m
RIGHT JOIN dedup d ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
