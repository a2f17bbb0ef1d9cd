-- The steward's view of every merge: for each union of identity resolution, the key and the two
-- records it joined (link_kind 'link'); a union skipped because of a cannot_link override
-- ('split'); a cannot_link the must_link overrides defeated ('conflict'); a key held by more than
-- identity.max_records_per_key records that agree, so it links them ('accepted': record_a is
-- one of them, record_b is NULL). Keys are masked; a record is written
-- source_system:source_customer_id. `strata explain-customer` reads this.
SELECT 'CU' || upper(substr(md5(COALESCE(c.label, c.r)), 1, 12)) AS customer_id,
       c.kind AS link_kind,
       CASE substr(c.k, 1, 2) WHEN 'p:' THEN 'phone' WHEN 'e:' THEN 'email' WHEN 'n:' THEN 'name'
            WHEN 'o:' THEN 'override' END AS key_kind,
       CASE substr(c.k, 1, 2) WHEN 'p:' THEN mask_phone(substr(c.k, 3))
            WHEN 'e:' THEN mask_email(substr(c.k, 3))
            WHEN 'n:' THEN mask_name(substr(c.k, 3))
            WHEN 'o:' THEN split_part(c.k, ':', 2) END AS key_masked,
       substr(c.r, 2) AS record_a,
       substr(c.other_r, 2) AS record_b,
       c.reason
FROM dwd_customer_cluster c
WHERE c.kind IN ('link', 'split', 'conflict', 'accepted')
