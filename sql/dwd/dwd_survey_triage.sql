-- Triage of ods_survey: every landed record once, with the reason it cannot be accepted, if any.
-- Deduplication (DOMAIN.md rule 1): the latest landing ds wins (the table has no updated_at);
-- rows tied on ds are ordered by every other column, so the same row wins on every rerun
-- whatever the file order, the number of files or the parallelism. A blank key (empty or only
-- whitespace, see nonblank()) counts as missing: such rows are all kept and rejected as null_key.
-- Reasons in the order of DOMAIN.md; the first that applies is kept. dwd_survey takes the accepted
-- rows, dwd_reject the others.
-- Scores (invalid_score): parse_score() reads the text as typed (NFKC, so full-width digits
-- count; trimmed of Unicode whitespace; an integer literal with an optional '+'), NULL when it
-- is not one; the range is 0..10 for NPS, 1..5 for CSAT. '９', ' 9\u00a0', '+9' are 9;
-- '4.0', '11', '-1', 'N/A' and blanks are invalid.
-- Two phases: keys landed once pass through; only those landed more than once are ordered by
-- the window, and the repeated keys are the hash side of each join (see dwd_order_latest).
WITH landed AS (
  SELECT response_id, crm_id, survey_type, score, submitted_at, comment, ds
  FROM ods_survey
  WHERE ds <= $ds
), repeated AS (
  SELECT response_id, COUNT(*) AS landings FROM landed GROUP BY response_id HAVING COUNT(*) > 1
), latest AS (
  SELECT response_id, crm_id, survey_type, score, submitted_at, comment, ds
  FROM (
    SELECT l.*, ROW_NUMBER() OVER (PARTITION BY l.response_id ORDER BY ds DESC,
             crm_id, survey_type, score, submitted_at, comment) AS rn
    FROM repeated r JOIN landed l ON r.response_id = l.response_id
  )
  WHERE rn = 1 OR nonblank(response_id) IS NULL
), kept AS (
  SELECT l.* FROM repeated r RIGHT JOIN landed l ON r.response_id = l.response_id
  WHERE r.landings IS NULL
  UNION ALL
  SELECT * FROM latest
), dedup AS (
  SELECT *, parse_score(score) AS parsed_score
  FROM kept
)
SELECT nonblank(d.response_id) AS source_key,
       d.response_id,
       m.customer_id,
       d.survey_type,
       d.parsed_score AS score,
       d.submitted_at,
       business_date(d.submitted_at) AS submit_date,
       d.ds AS landing_ds,
       CASE WHEN nonblank(d.response_id) IS NULL OR nonblank(d.crm_id) IS NULL THEN 'null_key'
            WHEN m.customer_id IS NULL THEN 'orphan_customer'
            WHEN business_date(d.submitted_at) > d.ds THEN 'future_event'
            WHEN d.survey_type = 'NPS' AND d.parsed_score BETWEEN 0 AND 10 THEN NULL
            WHEN d.survey_type = 'CSAT' AND d.parsed_score BETWEEN 1 AND 5 THEN NULL
            ELSE 'invalid_score'
       END AS reject_reason
-- The customer map first: DataFusion builds its hash table from a join's first input (see
-- dwd_order_latest), and the deduplicated rows have no statistics to swap the sides by.
FROM dwd_customer_source_map m
RIGHT JOIN dedup d ON m.source_system = 'crm' AND m.source_customer_id = d.crm_id
