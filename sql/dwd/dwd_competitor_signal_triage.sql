-- Triage of ods_competitor_signal: every landed record once (deduplicated: the latest update, then the latest
-- landing wins), with the reason it cannot be accepted, if any. Reasons in the order of DOMAIN.md;
-- the first that applies is kept. dwd_competitor_signal takes the accepted rows, dwd_reject the others.
WITH landed AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY signal_id ORDER BY ds DESC) AS rn
  FROM ods_competitor_signal
  WHERE ds <= $ds
), dedup AS (
  SELECT * FROM landed WHERE rn = 1 OR signal_id IS NULL
)
SELECT d.signal_id AS source_key,
       d.signal_id,
       m.customer_id,
       d.competitor,
       d.signal_type,
       d.detected_at,
       business_date(d.detected_at) AS detected_date,
       d.ds AS landing_ds,
       CASE WHEN d.signal_id IS NULL OR d.crm_id IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.detected_at) > d.ds THEN 'future_event'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
