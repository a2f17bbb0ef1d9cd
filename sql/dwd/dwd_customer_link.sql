-- The steward's view of every merge: for each union of identity resolution, the key and the two
-- records it joined (link_kind 'link'); a union skipped because of a cannot_link override
-- ('split'); a cannot_link the must_link overrides defeated ('conflict'); a key held by more than
-- identity.max_records_per_key records that agree, so it links them ('accepted': record_a is
-- one of them, record_b is NULL). Keys are masked; a record is written
-- source_system:source_customer_id. A split or conflict is listed under both customers; a key
-- refused for linking ('refused', record_b NULL) under every customer one of whose records
-- holds it, so a steward sees why records were not merged. Phones, e-mails and person names are
-- masked; company names and overrides are not personal data. `strata explain-customer` reads
-- this.
WITH c AS (
  SELECT * FROM dwd_customer_cluster WHERE kind IN ('link', 'split', 'conflict', 'accepted')
), members AS (
  SELECT r, label FROM dwd_customer_cluster WHERE kind = 'member'
), refused AS (
  SELECT k, reason FROM dwd_customer_cluster WHERE kind = 'refused' AND substr(k, 1, 2) <> 'o:'
), facts AS (
  SELECT label, kind, k, r, other_r, reason FROM c
  UNION ALL
  SELECT m.label, c.kind, c.k, c.other_r, c.r, c.reason
  FROM c JOIN members m ON m.r = c.other_r
  WHERE c.kind IN ('split', 'conflict')
  UNION ALL
  SELECT m.label, 'refused', f.k, MIN(mk.r), CAST(NULL AS VARCHAR), f.reason
  FROM refused f
  JOIN dwd_customer_match_key mk ON mk.k = f.k
  JOIN members m ON m.r = mk.r
  GROUP BY m.label, f.k, f.reason
)
SELECT 'CU' || upper(substr(md5(COALESCE(f.label, f.r)), 1, 12)) AS customer_id,
       f.kind AS link_kind,
       CASE substr(f.k, 1, 2) WHEN 'p:' THEN 'phone' WHEN 'e:' THEN 'email' WHEN 'n:' THEN 'name'
            WHEN 'h:' THEN 'name' WHEN 'o:' THEN 'override' END AS key_kind,
       CASE substr(f.k, 1, 2) WHEN 'p:' THEN mask_phone(substr(f.k, 3))
            WHEN 'e:' THEN mask_email(substr(f.k, 3))
            WHEN 'h:' THEN mask_name(substr(f.k, 3))
            WHEN 'n:' THEN CASE WHEN regexp_like(substr(f.k, 3), '[0-9]{7}|@')
                                THEN mask_name(substr(f.k, 3)) ELSE substr(f.k, 3) END
            WHEN 'o:' THEN split_part(f.k, ':', 2) END AS key_masked,
       substr(f.r, 2) AS record_a,
       substr(f.other_r, 2) AS record_b,
       f.reason
FROM facts f
