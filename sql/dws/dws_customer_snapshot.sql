-- dws_customer_snapshot: one row per customer in dwd_customer, its metrics as of the end of $ds.
-- Windows "Nd" are business dates d with $ds - N < d <= $ds (written as d > $ds - N: date
-- comparisons, which the Parquet scan can also use for pruning).
-- Paid orders only for order metrics; CNY amounts are exact decimals (converted to DOUBLE only in
-- the ADS). No personal data: customer_id is the only identity.
-- Plan shape (it decides the memory a run needs): the survey and competitor facts are ordered
-- aggregates (first_value ... ORDER BY) rather than ROW_NUMBER windows, and the four small
-- per-customer facts are folded into one row per customer by a UNION ALL + GROUP BY, which can
-- spill, instead of four more sort-merge joins. Only three joins remain.
WITH usage AS (
  SELECT customer_id,
    SUM(CASE WHEN usage_date > $ds - 30 THEN events ELSE 0 END) AS usage_30d,
    SUM(CASE WHEN usage_date <= $ds - 30 THEN events ELSE 0 END) AS usage_prev_30d
  FROM dwd_product_usage
  WHERE usage_date <= $ds AND usage_date > $ds - 60
  GROUP BY customer_id
),
-- The latest NPS answer (ties on the time go to the larger response_id) and CSAT in 90 days.
surveys AS (
  SELECT customer_id,
    first_value(score ORDER BY submitted_at DESC, response_id DESC)
      FILTER (WHERE survey_type = 'NPS') AS latest_nps,
    first_value(submit_date ORDER BY submitted_at DESC, response_id DESC)
      FILTER (WHERE survey_type = 'NPS') AS latest_nps_date,
    COUNT(*) FILTER (WHERE survey_type = 'CSAT' AND submit_date > $ds - 90)
      AS csat_responses_90d,
    -- An integer sum divided once: the same bits whatever the order rows are added in.
    CAST(SUM(score) FILTER (WHERE survey_type = 'CSAT' AND submit_date > $ds - 90) AS DOUBLE)
      / COUNT(score) FILTER (WHERE survey_type = 'CSAT' AND submit_date > $ds - 90)
      AS csat_avg_90d
  FROM dwd_survey
  WHERE submit_date <= $ds AND survey_type IN ('NPS', 'CSAT')
  GROUP BY customer_id
),
contracts AS (
  SELECT customer_id,
    MIN(CASE WHEN start_date <= $ds THEN end_date END) AS active_contract_end_date,
    MIN(end_date) AS next_contract_end_date,
    SUM(CASE WHEN start_date <= $ds THEN 1 ELSE 0 END) AS active_contracts
  FROM dwd_contract
  WHERE end_date >= $ds
  GROUP BY customer_id
),
-- The latest competitor signal (ties on the time go to the larger signal_id) and the last trial.
signals AS (
  SELECT customer_id,
    first_value(detected_date ORDER BY detected_at DESC, signal_id DESC)
      AS latest_competitor_signal_date,
    first_value(competitor ORDER BY detected_at DESC, signal_id DESC) AS latest_competitor,
    first_value(signal_type ORDER BY detected_at DESC, signal_id DESC)
      AS latest_competitor_signal_type,
    MAX(detected_date) FILTER (WHERE signal_type = 'trial') AS last_competitor_trial_date
  FROM dwd_competitor_signal
  WHERE detected_date <= $ds
  GROUP BY customer_id
),
-- Each branch fills its own columns; every customer has at most one row per branch, so MAX
-- picks that row's value.
facts AS (
  SELECT customer_id, usage_30d, usage_prev_30d,
    NULL AS latest_nps, NULL AS latest_nps_date, NULL AS csat_responses_90d,
    NULL AS csat_avg_90d,
    NULL AS active_contract_end_date, NULL AS next_contract_end_date, NULL AS active_contracts,
    NULL AS latest_competitor_signal_date, NULL AS latest_competitor,
    NULL AS latest_competitor_signal_type, NULL AS last_competitor_trial_date
  FROM usage
  UNION ALL
  SELECT customer_id, NULL, NULL,
    latest_nps, latest_nps_date, csat_responses_90d, csat_avg_90d,
    NULL, NULL, NULL,
    NULL, NULL, NULL, NULL
  FROM surveys
  UNION ALL
  SELECT customer_id, NULL, NULL,
    NULL, NULL, NULL, NULL,
    active_contract_end_date, next_contract_end_date, active_contracts,
    NULL, NULL, NULL, NULL
  FROM contracts
  UNION ALL
  SELECT customer_id, NULL, NULL,
    NULL, NULL, NULL, NULL,
    NULL, NULL, NULL,
    latest_competitor_signal_date, latest_competitor, latest_competitor_signal_type,
    last_competitor_trial_date
  FROM signals
),
engagement AS (
  SELECT customer_id,
    MAX(usage_30d) AS usage_30d,
    MAX(usage_prev_30d) AS usage_prev_30d,
    MAX(latest_nps) AS latest_nps,
    MAX(latest_nps_date) AS latest_nps_date,
    MAX(csat_responses_90d) AS csat_responses_90d,
    MAX(csat_avg_90d) AS csat_avg_90d,
    MAX(active_contract_end_date) AS active_contract_end_date,
    MAX(next_contract_end_date) AS next_contract_end_date,
    MAX(active_contracts) AS active_contracts,
    MAX(latest_competitor_signal_date) AS latest_competitor_signal_date,
    MAX(latest_competitor) AS latest_competitor,
    MAX(latest_competitor_signal_type) AS latest_competitor_signal_type,
    MAX(last_competitor_trial_date) AS last_competitor_trial_date
  FROM facts
  GROUP BY customer_id
)
SELECT
  $ds AS ds,
  c.customer_id,
  c.first_seen_date,
  CAST($ds - o.last_order_date AS INT) AS recency_days,
  o.first_order_date,
  o.last_order_date,
  COALESCE(o.orders_30d, 0) AS orders_30d,
  COALESCE(o.orders_90d, 0) AS orders_90d,
  COALESCE(o.orders_180d, 0) AS orders_180d,
  COALESCE(o.orders_365d, 0) AS orders_365d,
  COALESCE(o.orders_lifetime, 0) AS orders_lifetime,
  COALESCE(o.amount_30d_cny, CAST(0 AS DECIMAL(18, 2))) AS amount_30d_cny,
  COALESCE(o.amount_90d_cny, CAST(0 AS DECIMAL(18, 2))) AS amount_90d_cny,
  COALESCE(o.amount_180d_cny, CAST(0 AS DECIMAL(18, 2))) AS amount_180d_cny,
  COALESCE(o.amount_365d_cny, CAST(0 AS DECIMAL(18, 2))) AS amount_365d_cny,
  COALESCE(o.amount_lifetime_cny, CAST(0 AS DECIMAL(18, 2))) AS amount_lifetime_cny,
  COALESCE(o.categories_365d, 0) AS categories_365d,
  COALESCE(i.interactions_7d, 0) AS interactions_7d,
  COALESCE(i.interactions_30d, 0) AS interactions_30d,
  COALESCE(i.interactions_60d, 0) AS interactions_60d,
  COALESCE(i.interactions_365d, 0) AS interactions_365d,
  i.last_interaction_date,
  i.top_intent_90d,
  COALESCE(i.emails_sent_90d, 0) AS emails_sent_90d,
  CAST(i.emails_opened_90d AS DOUBLE) / NULLIF(i.emails_tracked_90d, 0) AS email_open_rate_90d,
  COALESCE(i.complaints_90d, 0) AS complaints_90d,
  COALESCE(e.usage_30d, 0) AS usage_30d,
  COALESCE(e.usage_prev_30d, 0) AS usage_prev_30d,
  e.latest_nps,
  e.latest_nps_date,
  COALESCE(e.csat_responses_90d, 0) AS csat_responses_90d,
  e.csat_avg_90d,
  COALESCE(e.active_contracts, 0) AS active_contracts,
  e.active_contract_end_date,
  e.next_contract_end_date,
  e.latest_competitor_signal_date,
  e.latest_competitor,
  e.latest_competitor_signal_type,
  e.last_competitor_trial_date
-- engagement comes first: DataFusion builds a hash join's table from its first input unless
-- statistics say the other is smaller, and an aggregate's output has none. Joined last, the
-- build side was the wide result of the other two joins (1.0-1.5 s of 2.5-3.9 s of join time at
-- 1 M customers, bench/NOTES.md); first, it is the 580 k engagement rows, then dwd_customer's
-- two columns.
FROM engagement e
RIGHT JOIN dwd_customer c ON e.customer_id = c.customer_id
LEFT JOIN dws_customer_order_metrics o ON o.customer_id = c.customer_id
LEFT JOIN dws_customer_activity_metrics i ON i.customer_id = c.customer_id
