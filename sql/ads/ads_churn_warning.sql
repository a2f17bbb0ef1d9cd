-- ads_churn_warning: seed 000's three-level churn warning plus its renewal-risk query, one row per
-- customer with at least one signal as of $ds. Reasons in contract order; the level is the
-- highest triggered (red > orange > yellow).
-- Text columns are cast to Utf8, the contract's STRING (inputs may arrive as Utf8View).
WITH facts AS (
  SELECT s.customer_id, s.usage_30d, s.usage_prev_30d,
    CASE WHEN s.usage_prev_30d > 0
      THEN 100.0 * (s.usage_30d - s.usage_prev_30d) / s.usage_prev_30d END AS usage_change_pct,
    CAST($ds - s.last_interaction_date AS INT) AS days_since_interaction,
    s.next_contract_end_date AS contract_end_date,
    s.last_interaction_date, s.first_seen_date, s.last_competitor_trial_date, r.value_tier
  FROM dws_customer_snapshot s
  JOIN ads_rfm_score r ON r.customer_id = s.customer_id AND r.ds = $ds
  WHERE s.ds = $ds
),
flags AS (
  SELECT *,
    COALESCE(last_competitor_trial_date > $ds - $competitor_trial_days, false)
      AS competitor_trial,
    COALESCE(first_seen_date <= $ds - $no_interaction_days, false)
      AND COALESCE(last_interaction_date <= $ds - $no_interaction_days, true) AS no_interaction,
    COALESCE(contract_end_date < $ds + $renewal_window_days, false)
      AND COALESCE(last_interaction_date <= $ds - $renewal_no_interaction_days, true)
      AND value_tier = '潜力型' AS renewal_risk,
    COALESCE(usage_prev_30d > 0 AND usage_change_pct <= 0.0 - $usage_drop_pct, false)
      AS usage_drop
  FROM facts
)
SELECT
  $ds AS ds,
  arrow_cast(customer_id, 'Utf8') AS customer_id,
  CASE WHEN competitor_trial THEN 'red'
    WHEN no_interaction OR renewal_risk THEN 'orange'
    ELSE 'yellow' END AS warning_level,
  concat_ws(',',
    CASE WHEN competitor_trial THEN 'competitor_trial' END,
    CASE WHEN no_interaction THEN 'no_interaction_60d' END,
    CASE WHEN renewal_risk THEN 'renewal_risk' END,
    CASE WHEN usage_drop THEN 'usage_drop_30pct' END) AS reasons,
  usage_30d,
  usage_prev_30d,
  usage_change_pct,
  days_since_interaction,
  contract_end_date,
  CASE WHEN competitor_trial THEN '启动高管挽留流程'
    WHEN no_interaction OR renewal_risk THEN '分配客户成功经理介入'
    ELSE '触发自动关怀邮件' END AS recommended_action
FROM flags
WHERE competitor_trial OR no_interaction OR renewal_risk OR usage_drop
