-- Triage of ods_interaction: every landed record once, with the reason it cannot be accepted, if any.
-- Deduplication (DOMAIN.md rule 1): the latest landing ds wins (the table has no updated_at);
-- rows tied on ds are ordered by every other column, so the same row wins on every rerun
-- whatever the file order, the number of files or the parallelism. A blank key (empty or only
-- whitespace, see nonblank()) counts as missing: such rows are all kept and rejected as null_key.
-- Reasons in the order of DOMAIN.md; the first that applies is kept. dwd_interaction takes the accepted
-- rows, dwd_reject the others.
-- Two phases: keys landed once pass through; only those landed more than once are ordered by
-- the window, and the repeated keys are the hash side of each join (see dwd_order_latest).
WITH landed AS (
  SELECT interaction_id, crm_id, channel, direction, purpose, occurred_at, rep_id, opened, content, ds
  FROM ods_interaction
  WHERE ds <= $ds
), repeated AS (
  SELECT interaction_id, COUNT(*) AS landings FROM landed GROUP BY interaction_id HAVING COUNT(*) > 1
), latest AS (
  SELECT interaction_id, crm_id, channel, direction, purpose, occurred_at, rep_id, opened, content, ds
  FROM (
    SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.interaction_id ORDER BY ds DESC,
             crm_id, channel, direction, purpose, occurred_at, rep_id, opened, content) AS rn
    FROM repeated r JOIN landed l ON r.interaction_id = l.interaction_id
  )
  WHERE rn = 1 OR nonblank(interaction_id) IS NULL
), dedup AS (
  SELECT l.* FROM repeated r RIGHT JOIN landed l ON r.interaction_id = l.interaction_id
  WHERE r.landings IS NULL
  UNION ALL
  SELECT * FROM latest
)
SELECT nonblank(d.interaction_id) AS source_key,
       d.interaction_id,
       m.customer_id,
       d.channel,
       d.direction,
       d.purpose,
       d.occurred_at,
       business_date(d.occurred_at) AS interaction_date,
       d.rep_id,
       d.opened,
       intent(d.content) AS intent,
       d.ds AS landing_ds,
       CASE WHEN nonblank(d.interaction_id) IS NULL OR nonblank(d.crm_id) IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.occurred_at) > d.ds THEN 'future_event'
       END AS reject_reason
-- The customer map first: DataFusion builds its hash table from a join's first input (see
-- dwd_order_latest), and the deduplicated rows have no statistics to swap the sides by.
FROM dwd_customer_source_map m
RIGHT JOIN dedup d ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
