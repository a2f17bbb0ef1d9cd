-- Every customer record of the three sources, mapped to one customer_id (the golden record key).
-- Records are the same customer when they share a normalized phone, e-mail or company name,
-- directly or through other records (connected components, found by propagating the smallest
-- label four times; real clusters are far smaller than that reach). The label is the cluster's
-- anchor record, CRM before ERP before shop, then the smallest id, so a customer keeps its id
-- as long as its anchor record exists.
WITH crm AS (
  SELECT '1crm' AS prio, 'crm' AS source_system, crm_id AS source_customer_id,
         company_name AS name, phone, email
  FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY crm_id ORDER BY updated_at DESC, ds DESC) AS rn
        FROM ods_crm_customer WHERE ds <= $ds AND crm_id IS NOT NULL)
  WHERE rn = 1
), erp AS (
  SELECT '2erp' AS prio, 'erp' AS source_system, erp_code AS source_customer_id,
         legal_name AS name, tel AS phone, CAST(NULL AS VARCHAR) AS email
  FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY erp_code ORDER BY updated_at DESC, ds DESC) AS rn
        FROM ods_erp_customer WHERE ds <= $ds AND erp_code IS NOT NULL)
  WHERE rn = 1
), shop AS (
  SELECT '3shop' AS prio, 'shop' AS source_system, shop_uid AS source_customer_id,
         display_name AS name, mobile AS phone, email
  FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY shop_uid ORDER BY updated_at DESC, ds DESC) AS rn
        FROM ods_shop_customer WHERE ds <= $ds AND shop_uid IS NOT NULL)
  WHERE rn = 1
), recs AS (
  SELECT prio || ':' || source_customer_id AS r, * FROM crm
  UNION ALL SELECT prio || ':' || source_customer_id AS r, * FROM erp
  UNION ALL SELECT prio || ':' || source_customer_id AS r, * FROM shop
), named AS (
  SELECT r, normalize_company(name) AS n0 FROM recs
), aliased AS (
  -- Branch abbreviations (BJ分公司) become the city name (北京分公司); the longest alias wins.
  SELECT r, n0, a.alias, a.canonical,
         ROW_NUMBER() OVER (PARTITION BY r ORDER BY character_length(a.alias) DESC NULLS LAST) AS rn
  FROM named
  LEFT JOIN seed_name_aliases a ON ends_with(named.n0, upper(a.alias) || '分公司')
), names AS (
  SELECT r,
         CASE WHEN canonical IS NULL THEN n0
              ELSE left(n0, character_length(n0) - character_length(alias) - 3) || canonical || '分公司'
         END AS n
  FROM aliased WHERE rn = 1
), keys AS (
  SELECT r, 'p:' || normalize_phone(phone) AS k FROM recs WHERE normalize_phone(phone) IS NOT NULL
  UNION ALL
  SELECT r, 'e:' || normalize_email(email) FROM recs WHERE normalize_email(email) IS NOT NULL
  UNION ALL
  SELECT r, 'n:' || n FROM names WHERE n IS NOT NULL
), l1 AS (
  SELECT k.r, MIN(k2.r) AS label FROM keys k JOIN keys k2 ON k.k = k2.k GROUP BY k.r
), kl1 AS (
  SELECT k.k, MIN(l.label) AS label FROM keys k JOIN l1 l ON l.r = k.r GROUP BY k.k
), l2 AS (
  SELECT k.r, MIN(kl.label) AS label FROM keys k JOIN kl1 kl ON kl.k = k.k GROUP BY k.r
), kl2 AS (
  SELECT k.k, MIN(l.label) AS label FROM keys k JOIN l2 l ON l.r = k.r GROUP BY k.k
), l3 AS (
  SELECT k.r, MIN(kl.label) AS label FROM keys k JOIN kl2 kl ON kl.k = k.k GROUP BY k.r
), kl3 AS (
  SELECT k.k, MIN(l.label) AS label FROM keys k JOIN l3 l ON l.r = k.r GROUP BY k.k
), l4 AS (
  SELECT k.r, MIN(kl.label) AS label FROM keys k JOIN kl3 kl ON kl.k = k.k GROUP BY k.r
)
SELECT recs.source_system,
       recs.source_customer_id,
       'CU' || upper(substr(md5(COALESCE(l4.label, recs.r)), 1, 12)) AS customer_id
FROM recs
LEFT JOIN l4 ON l4.r = recs.r
