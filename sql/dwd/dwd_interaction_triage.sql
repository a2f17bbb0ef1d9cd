-- Triage of ods_interaction: every landed record once (deduplicated: the latest update, then the latest
-- landing wins), with the reason it cannot be accepted, if any. Reasons in the order of DOMAIN.md;
-- the first that applies is kept. dwd_interaction takes the accepted rows, dwd_reject the others.
WITH landed AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY interaction_id ORDER BY ds DESC) AS rn
  FROM ods_interaction
  WHERE ds <= $ds
), dedup AS (
  SELECT * FROM landed WHERE rn = 1 OR interaction_id IS NULL
)
SELECT d.interaction_id AS source_key,
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
       CASE WHEN d.interaction_id IS NULL OR d.crm_id IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.occurred_at) > d.ds THEN 'future_event'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
