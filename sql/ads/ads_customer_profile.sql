-- ads_customer_profile: the 360 view, one row per customer as of $ds. Contact data only masked;
-- customer_type recomputed from paid orders (first rule that holds). lifetime_amount_cny is the
-- exact decimal sum converted to DOUBLE once, here, so reruns give the same bits.
-- Text columns are cast to Utf8, the contract's STRING (inputs may arrive as Utf8View).
SELECT
  $ds AS ds,
  arrow_cast(c.customer_id, 'Utf8') AS customer_id,
  -- A company name that holds a phone number or an e-mail address is masked like one.
  arrow_cast(CASE WHEN normalize_phone(c.company_name) IS NOT NULL
                    OR normalize_email(c.company_name) IS NOT NULL
                  THEN mask_name(c.company_name) ELSE c.company_name END, 'Utf8') AS company_name,
  mask_name(c.contact_name) AS contact_name_masked,
  mask_phone(c.phone) AS phone_masked,
  mask_email(c.email) AS email_masked,
  arrow_cast(c.industry, 'Utf8') AS industry,
  arrow_cast(c.province, 'Utf8') AS province,
  arrow_cast(c.city, 'Utf8') AS city,
  arrow_cast(c.company_size, 'Utf8') AS company_size,
  CASE
    WHEN s.first_order_date IS NULL THEN '潜在客户'
    WHEN s.first_order_date > $ds - 30 THEN '新客户'
    WHEN s.last_order_date > $ds - 90 THEN '活跃客户'
    ELSE '沉睡客户'
  END AS customer_type,
  arrow_cast(c.source_ids, 'Utf8') AS source_ids,
  s.first_order_date,
  s.last_order_date,
  s.orders_lifetime AS lifetime_orders,
  CAST(s.amount_lifetime_cny AS DOUBLE) AS lifetime_amount_cny,
  r.rfm_score,
  arrow_cast(r.value_tier, 'Utf8') AS value_tier,
  arrow_cast(r.rfm_segment, 'Utf8') AS rfm_segment,
  s.latest_nps,
  s.csat_avg_90d,
  s.last_interaction_date,
  s.interactions_30d,
  arrow_cast(s.top_intent_90d, 'Utf8') AS top_intent_90d,
  arrow_cast(w.warning_level, 'Utf8') AS warning_level
FROM dwd_customer c
JOIN dws_customer_snapshot s ON s.customer_id = c.customer_id AND s.ds = $ds
JOIN ads_rfm_score r ON r.customer_id = c.customer_id AND r.ds = $ds
LEFT JOIN ads_churn_warning w ON w.customer_id = c.customer_id AND w.ds = $ds
