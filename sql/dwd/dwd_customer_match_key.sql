-- The match keys of every customer record of the three sources (latest version of each record):
-- normalized phone (E.164), normalized e-mail, and normalized company name with branch
-- abbreviations mapped through seed_name_aliases (`n:`), or, where the name is a person's
-- (is_person_name: a shop display name by all rules, a CRM company name by explicit signals
-- only, an ERP legal name never), the person's name (`h:`), which never links records but
-- tells them apart. A record without any key gets one row with a
-- NULL key, so every record is listed. A customer's id comes from its anchor record, the first
-- in `anchor_order`: the earliest landing date of any version of the record, then its creation
-- time as its first landed version gave it (CRM created_at, shop registered_at, ERP updated_at,
-- to the second; unknown last; a later correction does not move it), then `r` (CRM, ERP, shop,
-- then the smallest id). So a record that arrives later never takes an existing id over.
-- Latest version (DOMAIN.md rule 1): the latest updated_at (NULL is older than any value), then
-- the latest landing ds, then every other column, so the same version wins on every rerun; the
-- same order as in dwd_customer, which must pick the same version. Records whose id is blank
-- (empty or only whitespace) are not customers: dwd_reject lists them as null_key.
-- The earliest landing is the first row's ds in the window that finds the first sighting, not
-- MIN(ds) OVER (PARTITION BY id): DataFusion 55 runs a window without ORDER BY by holding its
-- whole input unreserved and copying it into one batch (every landed version of every record;
-- bench/NOTES.md). ROWS frames: the first row is the same as under the default RANGE frame, which
-- makes DataFusion track peer rows.
WITH crm AS (
  SELECT '1crm' AS prio, 'crm' AS source_system, crm_id AS source_customer_id,
         company_name AS name, phone, email, first_ds, first_seen
  FROM (SELECT *, FIRST_VALUE(ds) OVER (PARTITION BY crm_id
                 ORDER BY ds, updated_at NULLS FIRST, created_at ROWS UNBOUNDED PRECEDING)
                 AS first_ds,
               FIRST_VALUE(created_at) OVER (PARTITION BY crm_id
                 ORDER BY ds, updated_at NULLS FIRST, created_at ROWS UNBOUNDED PRECEDING)
                 AS first_seen,
               ROW_NUMBER() OVER (PARTITION BY crm_id ORDER BY updated_at DESC NULLS LAST, ds DESC,
             company_name, contact_name, phone, email, industry, province, city, company_size,
             customer_type, owner_rep, contact_birthday, created_at) AS rn
        FROM ods_crm_customer WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL)
  WHERE rn = 1
), erp AS (
  SELECT '2erp' AS prio, 'erp' AS source_system, erp_code AS source_customer_id,
         legal_name AS name, tel AS phone, CAST(NULL AS VARCHAR) AS email, first_ds, first_seen
  FROM (SELECT *, FIRST_VALUE(ds) OVER (PARTITION BY erp_code
                 ORDER BY ds, updated_at ROWS UNBOUNDED PRECEDING) AS first_ds,
               FIRST_VALUE(updated_at) OVER (PARTITION BY erp_code
                 ORDER BY ds, updated_at ROWS UNBOUNDED PRECEDING) AS first_seen,
               ROW_NUMBER() OVER (PARTITION BY erp_code ORDER BY updated_at DESC NULLS LAST, ds DESC,
             legal_name, short_name, tel, industry, province) AS rn
        FROM ods_erp_customer WHERE ds <= $ds AND nonblank(erp_code) IS NOT NULL)
  WHERE rn = 1
), shop AS (
  SELECT '3shop' AS prio, 'shop' AS source_system, shop_uid AS source_customer_id,
         display_name AS name, mobile AS phone, email, first_ds, first_seen
  FROM (SELECT *, FIRST_VALUE(ds) OVER (PARTITION BY shop_uid
                 ORDER BY ds, updated_at NULLS FIRST, registered_at ROWS UNBOUNDED PRECEDING)
                 AS first_ds,
               FIRST_VALUE(registered_at) OVER (PARTITION BY shop_uid
                 ORDER BY ds, updated_at NULLS FIRST, registered_at ROWS UNBOUNDED PRECEDING)
                 AS first_seen,
               ROW_NUMBER() OVER (PARTITION BY shop_uid ORDER BY updated_at DESC NULLS LAST, ds DESC,
             display_name, mobile, email, city, registered_at) AS rn
        FROM ods_shop_customer WHERE ds <= $ds AND nonblank(shop_uid) IS NOT NULL)
  WHERE rn = 1
), recs AS (
  SELECT prio || ':' || source_customer_id AS r, * FROM crm
  UNION ALL SELECT prio || ':' || source_customer_id AS r, * FROM erp
  UNION ALL SELECT prio || ':' || source_customer_id AS r, * FROM shop
), named AS (
  -- One row per record with its normalized contacts: `recs` is read here only (an engine that
  -- does not share a CTE's plan would run its three windows once per reference).
  SELECT r, source_system, source_customer_id,
         CAST(first_ds AS VARCHAR) || ' '
           || COALESCE(to_char(first_seen, '%Y-%m-%d %H:%M:%S'), '~') AS anchor_order,
         normalize_phone(phone) AS phone_key, normalize_email(email) AS email_key,
         normalize_company(name) AS n0,
         source_system <> 'erp' AND is_person_name(name, source_system = 'shop') AS person
  FROM recs
), aliased AS (
  -- Branch abbreviations (BJ分公司) become the city name (北京分公司); the longest alias wins
  -- (then the smallest alias and canonical, should the seed list one twice). The seed is the
  -- join's first input, so the nested-loop join holds the seed's few rows, not every record.
  SELECT named.*, a.alias, a.canonical,
         ROW_NUMBER() OVER (PARTITION BY r ORDER BY character_length(a.alias) DESC NULLS LAST,
                                           a.alias, a.canonical) AS rn
  FROM seed_name_aliases a
  RIGHT JOIN named ON ends_with(named.n0, upper(a.alias) || '分公司')
), names AS (
  SELECT r, source_system, source_customer_id, anchor_order, phone_key, email_key, person,
         CASE WHEN canonical IS NULL THEN n0
              ELSE left(n0, character_length(n0) - character_length(alias) - 3) || canonical || '分公司'
         END AS n
  FROM aliased WHERE rn = 1
), keyed AS (
  -- Up to three keys per record, one per slot: phone, e-mail, name (the three slots are the
  -- join's first input, as above).
  SELECT names.*, slot,
         CASE slot WHEN 1 THEN 'p:' || phone_key
                   WHEN 2 THEN 'e:' || email_key
                   ELSE CASE WHEN person THEN 'h:' ELSE 'n:' END || n END AS k
  FROM (VALUES (1), (2), (3)) AS slots(slot) CROSS JOIN names
)
SELECT r, source_system, source_customer_id, anchor_order, k
FROM keyed
WHERE k IS NOT NULL OR (slot = 1 AND phone_key IS NULL AND email_key IS NULL AND n IS NULL)
