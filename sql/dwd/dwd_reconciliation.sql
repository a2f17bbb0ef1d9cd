-- Per ODS table: landed rows = accepted + duplicates merged + rejected. Customer tables count
-- accepted records in dwd_customer_source_map (each record once, merged into its customer).
-- Duplicates are counted from the landed rows themselves, never from what triage kept: the
-- extra versions of keys that are not blank (see nonblank(); blank keys are all kept and
-- rejected), so a triage that loses rows leaves the table unbalanced and the check fails.
SELECT source_table, landed, accepted, duplicates, rejected,
       landed = accepted + duplicates + rejected AS balanced
FROM (
SELECT 'ods_order' AS source_table,
       (SELECT COUNT(*) FROM ods_order WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_order) AS accepted,
       (SELECT COUNT(*) FROM ods_order WHERE ds <= $ds AND nonblank(order_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT order_id FROM ods_order
                                  WHERE ds <= $ds AND nonblank(order_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_order') AS rejected
UNION ALL
SELECT 'ods_interaction' AS source_table,
       (SELECT COUNT(*) FROM ods_interaction WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_interaction) AS accepted,
       (SELECT COUNT(*) FROM ods_interaction WHERE ds <= $ds AND nonblank(interaction_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT interaction_id FROM ods_interaction
                                  WHERE ds <= $ds AND nonblank(interaction_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_interaction') AS rejected
UNION ALL
SELECT 'ods_survey' AS source_table,
       (SELECT COUNT(*) FROM ods_survey WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_survey) AS accepted,
       (SELECT COUNT(*) FROM ods_survey WHERE ds <= $ds AND nonblank(response_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT response_id FROM ods_survey
                                  WHERE ds <= $ds AND nonblank(response_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_survey') AS rejected
UNION ALL
SELECT 'ods_contract' AS source_table,
       (SELECT COUNT(*) FROM ods_contract WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_contract) AS accepted,
       (SELECT COUNT(*) FROM ods_contract WHERE ds <= $ds AND nonblank(contract_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT contract_id FROM ods_contract
                                  WHERE ds <= $ds AND nonblank(contract_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_contract') AS rejected
UNION ALL
SELECT 'ods_product_usage' AS source_table,
       (SELECT COUNT(*) FROM ods_product_usage WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_product_usage) AS accepted,
       (SELECT COUNT(*) FROM ods_product_usage WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT crm_id, usage_date FROM ods_product_usage
                                  WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_product_usage') AS rejected
UNION ALL
SELECT 'ods_competitor_signal' AS source_table,
       (SELECT COUNT(*) FROM ods_competitor_signal WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_competitor_signal) AS accepted,
       (SELECT COUNT(*) FROM ods_competitor_signal WHERE ds <= $ds AND nonblank(signal_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT signal_id FROM ods_competitor_signal
                                  WHERE ds <= $ds AND nonblank(signal_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_competitor_signal') AS rejected
UNION ALL
SELECT 'ods_lead' AS source_table,
       (SELECT COUNT(*) FROM ods_lead WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_lead) AS accepted,
       (SELECT COUNT(*) FROM ods_lead WHERE ds <= $ds AND nonblank(lead_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT lead_id FROM ods_lead
                                  WHERE ds <= $ds AND nonblank(lead_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_lead') AS rejected
UNION ALL
SELECT 'ods_cs_plan' AS source_table,
       (SELECT COUNT(*) FROM ods_cs_plan WHERE ds <= $ds) AS landed,
       (SELECT COUNT(*) FROM dwd_cs_plan) AS accepted,
       (SELECT COUNT(*) FROM ods_cs_plan WHERE ds <= $ds AND nonblank(assignment_id) IS NOT NULL)
         - (SELECT COUNT(*) FROM (SELECT DISTINCT assignment_id FROM ods_cs_plan
                                  WHERE ds <= $ds AND nonblank(assignment_id) IS NOT NULL)) AS duplicates,
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_cs_plan') AS rejected
UNION ALL
SELECT 'ods_crm_customer',
       (SELECT COUNT(*) FROM ods_crm_customer WHERE ds <= $ds),
       (SELECT COUNT(*) FROM dwd_customer_source_map WHERE source_system = 'crm'),
       (SELECT COUNT(*) FROM ods_crm_customer WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL)
         - (SELECT COUNT(DISTINCT crm_id) FROM ods_crm_customer WHERE ds <= $ds AND nonblank(crm_id) IS NOT NULL),
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_crm_customer')
UNION ALL
SELECT 'ods_shop_customer',
       (SELECT COUNT(*) FROM ods_shop_customer WHERE ds <= $ds),
       (SELECT COUNT(*) FROM dwd_customer_source_map WHERE source_system = 'shop'),
       (SELECT COUNT(*) FROM ods_shop_customer WHERE ds <= $ds AND nonblank(shop_uid) IS NOT NULL)
         - (SELECT COUNT(DISTINCT shop_uid) FROM ods_shop_customer WHERE ds <= $ds AND nonblank(shop_uid) IS NOT NULL),
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_shop_customer')
UNION ALL
SELECT 'ods_erp_customer',
       (SELECT COUNT(*) FROM ods_erp_customer WHERE ds <= $ds),
       (SELECT COUNT(*) FROM dwd_customer_source_map WHERE source_system = 'erp'),
       (SELECT COUNT(*) FROM ods_erp_customer WHERE ds <= $ds AND nonblank(erp_code) IS NOT NULL)
         - (SELECT COUNT(DISTINCT erp_code) FROM ods_erp_customer WHERE ds <= $ds AND nonblank(erp_code) IS NOT NULL),
       (SELECT COUNT(*) FROM dwd_reject WHERE source_table = 'ods_erp_customer')
)
