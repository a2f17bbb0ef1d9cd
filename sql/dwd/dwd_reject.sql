-- Every landed record that could not be cleaned, with its source table, source key and the reason
-- code of DOMAIN.md. Nothing disappears silently: see dwd_reconciliation. A customer record whose
-- id is NULL, empty or only whitespace is null_key (its source key is NULL).
SELECT 'ods_order' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_order_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_interaction' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_interaction_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_survey' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_survey_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_contract' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_contract_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_product_usage' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_product_usage_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_competitor_signal' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_competitor_signal_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_lead' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_lead_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_cs_plan' AS source_table, source_key, reject_reason AS reason, landing_ds FROM dwd_cs_plan_triage WHERE reject_reason IS NOT NULL
UNION ALL
SELECT 'ods_crm_customer', CAST(NULL AS VARCHAR), 'null_key', ds FROM ods_crm_customer WHERE ds <= $ds AND nonblank(crm_id) IS NULL
UNION ALL
SELECT 'ods_shop_customer', CAST(NULL AS VARCHAR), 'null_key', ds FROM ods_shop_customer WHERE ds <= $ds AND nonblank(shop_uid) IS NULL
UNION ALL
SELECT 'ods_erp_customer', CAST(NULL AS VARCHAR), 'null_key', ds FROM ods_erp_customer WHERE ds <= $ds AND nonblank(erp_code) IS NULL
