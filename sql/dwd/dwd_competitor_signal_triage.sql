-- Triage of ods_competitor_signal: every landed record once, with the reason it cannot be accepted, if any.
-- Deduplication (DOMAIN.md rule 1): the latest landing ds wins (the table has no updated_at);
-- rows tied on ds are ordered by every other column, so the same row wins on every rerun
-- whatever the file order, the number of files or the parallelism. A blank key (empty or only
-- whitespace, see nonblank()) counts as missing: such rows are all kept and rejected as null_key.
-- Reasons in the order of DOMAIN.md; the first that applies is kept. dwd_competitor_signal takes the accepted
-- rows, dwd_reject the others.
WITH landed AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY signal_id ORDER BY ds DESC,
           crm_id, competitor, signal_type, detected_at) AS rn
  FROM ods_competitor_signal
  WHERE ds <= $ds
), dedup AS (
  SELECT * FROM landed WHERE rn = 1 OR nonblank(signal_id) IS NULL
)
SELECT nonblank(d.signal_id) AS source_key,
       d.signal_id,
       m.customer_id,
       d.competitor,
       d.signal_type,
       d.detected_at,
       business_date(d.detected_at) AS detected_date,
       d.ds AS landing_ds,
       CASE WHEN nonblank(d.signal_id) IS NULL OR nonblank(d.crm_id) IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.detected_at) > d.ds THEN 'future_event'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
