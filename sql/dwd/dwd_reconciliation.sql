-- Per ODS table: landed rows = accepted + duplicates merged + rejected. Customer tables count
-- accepted records in dwd_customer_source_map (each record once, merged into its customer).
-- Duplicates are counted from the landed rows themselves, never from what triage kept: the
-- extra versions of keys that are not blank (see nonblank(); blank keys are all kept and
-- rejected), so a triage that loses rows leaves the table unbalanced and the check fails.
-- Each count is a one-row aggregate cross-joined to the others (not a scalar subquery), so the
-- statement plans the same way on every engine: Ballista cannot cut DataFusion's physical
-- scalar subqueries into stages, and its fallback rewrite makes the columns nullable.
SELECT source_table, landed, accepted, duplicates, rejected,
       landed = accepted + duplicates + rejected AS balanced
FROM (
  SELECT 'ods_order' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_order WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_order) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_order WHERE ds <= $ds AND nonblank(order_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT order_id FROM ods_order WHERE ds <= $ds AND nonblank(order_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_order') rejected
UNION ALL
  SELECT 'ods_interaction' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_interaction WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_interaction) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_interaction WHERE ds <= $ds AND nonblank(interaction_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT interaction_id FROM ods_interaction WHERE ds <= $ds AND nonblank(interaction_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_interaction') rejected
UNION ALL
  SELECT 'ods_survey' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_survey WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_survey) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_survey WHERE ds <= $ds AND nonblank(response_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT response_id FROM ods_survey WHERE ds <= $ds AND nonblank(response_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_survey') rejected
UNION ALL
  SELECT 'ods_contract' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_contract WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_contract) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_contract WHERE ds <= $ds AND nonblank(contract_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT contract_id FROM ods_contract WHERE ds <= $ds AND nonblank(contract_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_contract') rejected
UNION ALL
  SELECT 'ods_product_usage' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_product_usage WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_product_usage) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_product_usage WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT crm_id, usage_date FROM ods_product_usage WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_product_usage') rejected
UNION ALL
  SELECT 'ods_competitor_signal' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_competitor_signal WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_competitor_signal) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_competitor_signal WHERE ds <= $ds AND nonblank(signal_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT signal_id FROM ods_competitor_signal WHERE ds <= $ds AND nonblank(signal_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_competitor_signal') rejected
UNION ALL
  SELECT 'ods_lead' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_lead WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_lead) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_lead WHERE ds <= $ds AND nonblank(lead_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT lead_id FROM ods_lead WHERE ds <= $ds AND nonblank(lead_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_lead') rejected
UNION ALL
  SELECT 'ods_cs_plan' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_cs_plan WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_cs_plan) accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_cs_plan WHERE ds <= $ds AND nonblank(assignment_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(*) AS n FROM (SELECT DISTINCT assignment_id FROM ods_cs_plan WHERE ds <= $ds AND nonblank(assignment_id) IS NOT NULL)) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_cs_plan') rejected
UNION ALL
  SELECT 'ods_crm_customer' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_crm_customer WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_customer_source_map WHERE source_system = 'crm') accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_crm_customer WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(DISTINCT crm_id) AS n FROM ods_crm_customer WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_crm_customer') rejected
UNION ALL
  SELECT 'ods_shop_customer' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_shop_customer WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_customer_source_map WHERE source_system = 'shop') accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_shop_customer WHERE ds <= $ds AND nonblank(shop_uid) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(DISTINCT shop_uid) AS n FROM ods_shop_customer WHERE ds <= $ds AND nonblank(shop_uid) IS NOT NULL) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_shop_customer') rejected
UNION ALL
  SELECT 'ods_erp_customer' AS source_table, landed.n AS landed, accepted.n AS accepted,
         keyed.n - distinct_keys.n AS duplicates, rejected.n AS rejected
  FROM
       (SELECT COUNT(*) AS n FROM ods_erp_customer WHERE ds <= $ds) landed
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_customer_source_map WHERE source_system = 'erp') accepted
  CROSS JOIN (SELECT COUNT(*) AS n FROM ods_erp_customer WHERE ds <= $ds AND nonblank(erp_code) IS NOT NULL) keyed
  CROSS JOIN (SELECT COUNT(DISTINCT erp_code) AS n FROM ods_erp_customer WHERE ds <= $ds AND nonblank(erp_code) IS NOT NULL) distinct_keys
  CROSS JOIN (SELECT COUNT(*) AS n FROM dwd_reject WHERE source_table = 'ods_erp_customer') rejected
)
