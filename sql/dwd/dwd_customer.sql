-- The golden record: one row per real customer ("一客一档").
-- Each record's latest version: the latest updated_at (NULL is older than any value), then the
-- latest landing ds, then every other column (the order dwd_customer_match_key uses too).
-- Survivorship: for every attribute, the first non-null value by source priority
-- (CRM, then ERP, then shop), within a source by the latest update (NULL last), then by the
-- smallest source id: a total order, so the same value survives on every rerun.
-- first_seen_at (DOMAIN.md): the earliest CRM created_at, shop registered_at or, for ERP records
-- (which carry no creation time), updated_at, over every landed version of every record of the
-- customer, so it never moves forward when a record is updated.
-- customer_type is recomputed from paid orders as of $ds (潜在客户: none ever; 新客户: first paid
-- order in the last 30 days; 活跃客户: a paid order in the last 90 days; 沉睡客户: otherwise);
-- the CRM's typed value is kept beside it.
-- Two phases, as in dwd_order_latest: a record landed once is its own latest version and its
-- own first sighting; only records landed more than once go through the window, and their
-- keys (with the earliest sighting) are the first input of each join.
WITH landed_crm AS (
  SELECT * FROM ods_crm_customer WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL
), repeated_crm AS (
  SELECT crm_id, COUNT(*) AS landings, MIN(created_at) AS first_seen
  FROM landed_crm GROUP BY crm_id HAVING COUNT(*) > 1
), latest_crm AS (
  SELECT l.*, l.created_at AS seen_at
  FROM repeated_crm r RIGHT JOIN landed_crm l ON r.crm_id = l.crm_id WHERE r.landings IS NULL
  UNION ALL
  SELECT * EXCLUDE (rn) FROM (
    SELECT l.*, r.first_seen AS seen_at,
           ROW_NUMBER() OVER (PARTITION BY l.crm_id ORDER BY l.updated_at DESC NULLS LAST, l.ds DESC,
             l.company_name, l.contact_name, l.phone, l.email, l.industry, l.province, l.city,
             l.company_size, l.customer_type, l.owner_rep, l.contact_birthday, l.created_at) AS rn
    FROM repeated_crm r JOIN landed_crm l ON r.crm_id = l.crm_id) WHERE rn = 1
), landed_erp AS (
  SELECT * FROM ods_erp_customer WHERE ds <= $ds AND nonblank(erp_code) IS NOT NULL
), repeated_erp AS (
  SELECT erp_code, COUNT(*) AS landings, MIN(updated_at) AS first_seen
  FROM landed_erp GROUP BY erp_code HAVING COUNT(*) > 1
), latest_erp AS (
  SELECT l.*, l.updated_at AS seen_at
  FROM repeated_erp r RIGHT JOIN landed_erp l ON r.erp_code = l.erp_code WHERE r.landings IS NULL
  UNION ALL
  SELECT * EXCLUDE (rn) FROM (
    SELECT l.*, r.first_seen AS seen_at,
           ROW_NUMBER() OVER (PARTITION BY l.erp_code ORDER BY l.updated_at DESC NULLS LAST, l.ds DESC,
             l.legal_name, l.short_name, l.tel, l.industry, l.province) AS rn
    FROM repeated_erp r JOIN landed_erp l ON r.erp_code = l.erp_code) WHERE rn = 1
), landed_shop AS (
  SELECT * FROM ods_shop_customer WHERE ds <= $ds AND nonblank(shop_uid) IS NOT NULL
), repeated_shop AS (
  SELECT shop_uid, COUNT(*) AS landings, MIN(registered_at) AS first_seen
  FROM landed_shop GROUP BY shop_uid HAVING COUNT(*) > 1
), latest_shop AS (
  SELECT *, is_person_name(display_name, true) AS display_is_person FROM (
    SELECT l.*, l.registered_at AS seen_at
    FROM repeated_shop r RIGHT JOIN landed_shop l ON r.shop_uid = l.shop_uid WHERE r.landings IS NULL
    UNION ALL
    SELECT * EXCLUDE (rn) FROM (
      SELECT l.*, r.first_seen AS seen_at,
             ROW_NUMBER() OVER (PARTITION BY l.shop_uid ORDER BY l.updated_at DESC NULLS LAST, l.ds DESC,
               l.display_name, l.mobile, l.email, l.city, l.registered_at) AS rn
      FROM repeated_shop r JOIN landed_shop l ON r.shop_uid = l.shop_uid) WHERE rn = 1)
), attrs AS (
  SELECT m.customer_id, 1 AS prio, c.updated_at, c.crm_id AS source_customer_id, 'crm' AS source_system,
         -- A person's name in the company field is no company name (is_person_name).
         CASE WHEN NOT is_person_name(c.company_name, false) THEN nullif(trim(c.company_name), '') END
           AS company_name,
         nullif(trim(c.contact_name), '') AS contact_name,
         normalize_phone(c.phone) AS phone, normalize_email(c.email) AS email,
         nullif(trim(c.industry), '') AS industry, nullif(trim(c.province), '') AS province,
         nullif(trim(c.city), '') AS city, nullif(trim(c.company_size), '') AS company_size,
         nullif(trim(c.owner_rep), '') AS owner_rep, c.contact_birthday,
         nullif(trim(c.customer_type), '') AS source_customer_type, c.seen_at
  FROM latest_crm c JOIN dwd_customer_source_map m
    ON m.source_system = 'crm' AND m.source_customer_id = c.crm_id
  UNION ALL
  SELECT m.customer_id, 2 AS prio, e.updated_at, e.erp_code AS source_customer_id, 'erp' AS source_system,
         nullif(trim(e.legal_name), '') AS company_name, CAST(NULL AS VARCHAR) AS contact_name,
         normalize_phone(e.tel) AS phone, CAST(NULL AS VARCHAR) AS email,
         nullif(trim(e.industry), '') AS industry, nullif(trim(e.province), '') AS province,
         CAST(NULL AS VARCHAR) AS city, CAST(NULL AS VARCHAR) AS company_size,
         CAST(NULL AS VARCHAR) AS owner_rep, CAST(NULL AS DATE) AS contact_birthday,
         CAST(NULL AS VARCHAR) AS source_customer_type, e.seen_at
  FROM latest_erp e JOIN dwd_customer_source_map m
    ON m.source_system = 'erp' AND m.source_customer_id = e.erp_code
  UNION ALL
  SELECT m.customer_id, 3 AS prio, s.updated_at, s.shop_uid AS source_customer_id, 'shop' AS source_system,
         -- A shop display name is a company name only when it says so; else it is a nickname
         -- or a person's name, kept as the contact name (personal data, masked downstream).
         CASE WHEN NOT s.display_is_person THEN nullif(trim(s.display_name), '') END
           AS company_name,
         CASE WHEN s.display_is_person THEN nullif(trim(s.display_name), '') END
           AS contact_name,
         normalize_phone(s.mobile) AS phone, normalize_email(s.email) AS email,
         CAST(NULL AS VARCHAR) AS industry, CAST(NULL AS VARCHAR) AS province,
         nullif(trim(s.city), '') AS city, CAST(NULL AS VARCHAR) AS company_size,
         CAST(NULL AS VARCHAR) AS owner_rep, CAST(NULL AS DATE) AS contact_birthday,
         CAST(NULL AS VARCHAR) AS source_customer_type, s.seen_at
  FROM latest_shop s JOIN dwd_customer_source_map m
    ON m.source_system = 'shop' AND m.source_customer_id = s.shop_uid
), golden AS (
  SELECT customer_id,
         first_value(company_name ORDER BY company_name IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS company_name,
         first_value(contact_name ORDER BY contact_name IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS contact_name,
         first_value(phone ORDER BY phone IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS phone,
         first_value(email ORDER BY email IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS email,
         first_value(industry ORDER BY industry IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS industry,
         first_value(province ORDER BY province IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS province,
         first_value(city ORDER BY city IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS city,
         first_value(company_size ORDER BY company_size IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS company_size,
         first_value(owner_rep ORDER BY owner_rep IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS owner_rep,
         first_value(contact_birthday ORDER BY contact_birthday IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS contact_birthday,
         first_value(source_customer_type ORDER BY source_customer_type IS NULL, prio, updated_at DESC NULLS LAST, source_customer_id) AS source_customer_type,
         MIN(seen_at) AS first_seen_at,
         array_to_string(array_sort(array_agg(source_system || ':' || source_customer_id)), ',') AS source_ids
  FROM attrs
  GROUP BY customer_id
), paid AS (
  SELECT customer_id, MIN(order_date) AS first_paid, MAX(order_date) AS last_paid
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds
  GROUP BY customer_id
), typed AS (
  SELECT g.*,
         CASE WHEN p.first_paid IS NULL THEN '潜在客户'
              WHEN p.first_paid > $ds - INTERVAL '30 days' THEN '新客户'
              WHEN p.last_paid > $ds - INTERVAL '90 days' THEN '活跃客户'
              ELSE '沉睡客户'
         END AS customer_type
  FROM golden g LEFT JOIN paid p ON p.customer_id = g.customer_id
)
SELECT customer_id, company_name, contact_name, phone, email, industry, province, city,
       company_size, owner_rep, contact_birthday, first_seen_at,
       business_date(first_seen_at) AS first_seen_date,
       source_customer_type, customer_type,
       COALESCE(source_customer_type IS NOT NULL AND source_customer_type <> customer_type, false)
         AS customer_type_mismatch,
       source_ids
FROM typed
