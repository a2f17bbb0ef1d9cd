-- Triage of ods_product_usage: every landed record once (deduplicated: the latest update, then the latest
-- landing wins), with the reason it cannot be accepted, if any. Reasons in the order of DOMAIN.md;
-- the first that applies is kept. dwd_product_usage takes the accepted rows, dwd_reject the others.
WITH landed AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY crm_id, usage_date ORDER BY ds DESC) AS rn
  FROM ods_product_usage
  WHERE ds <= $ds
), dedup AS (
  SELECT * FROM landed WHERE rn = 1 OR crm_id IS NULL OR usage_date IS NULL
)
SELECT d.crm_id || '|' || CAST(d.usage_date AS VARCHAR) AS source_key,
       m.customer_id,
       d.usage_date,
       d.active_users,
       d.events,
       d.ds AS landing_ds,
       CASE WHEN d.crm_id IS NULL OR d.usage_date IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN d.usage_date > d.ds THEN 'future_event'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
