-- Triage of ods_survey: every landed record once (deduplicated: the latest update, then the latest
-- landing wins), with the reason it cannot be accepted, if any. Reasons in the order of DOMAIN.md;
-- the first that applies is kept. dwd_survey takes the accepted rows, dwd_reject the others.
WITH landed AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY response_id ORDER BY ds DESC) AS rn
  FROM ods_survey
  WHERE ds <= $ds
), dedup AS (
  SELECT * FROM landed WHERE rn = 1 OR response_id IS NULL
)
SELECT d.response_id AS source_key,
       d.response_id,
       m.customer_id,
       d.survey_type,
       CASE WHEN regexp_like(trim(d.score), '^-?[0-9]{1,3}$') THEN TRY_CAST(trim(d.score) AS INT) END AS score,
       d.submitted_at,
       business_date(d.submitted_at) AS submit_date,
       d.ds AS landing_ds,
       CASE WHEN d.response_id IS NULL OR d.crm_id IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.submitted_at) > d.ds THEN 'future_event'
            WHEN NOT COALESCE(regexp_like(trim(d.score), '^-?[0-9]{1,3}$'), false) THEN 'invalid_score'
            WHEN d.survey_type = 'NPS' AND TRY_CAST(trim(d.score) AS INT) BETWEEN 0 AND 10 THEN NULL
            WHEN d.survey_type = 'CSAT' AND TRY_CAST(trim(d.score) AS INT) BETWEEN 1 AND 5 THEN NULL
            ELSE 'invalid_score'
       END AS reject_reason
FROM dedup d
LEFT JOIN dwd_customer_source_map m ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
