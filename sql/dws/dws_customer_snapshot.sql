-- dws_customer_snapshot: one row per customer in dwd_customer, its metrics as of the end of $ds.
-- Windows "Nd" are business dates d with $ds - N < d <= $ds (written as d > $ds - N: date
-- comparisons, which the Parquet scan can also use for pruning).
-- Paid orders only for order metrics. No personal data: customer_id is the only identity.
WITH orders AS (
  SELECT * FROM dws_customer_order_metrics
),
interactions AS (
  SELECT * FROM dws_customer_activity_metrics
),
intents AS (
  SELECT customer_id, top_intent_90d FROM dws_customer_activity_metrics
),
usage AS (
  SELECT customer_id,
    SUM(CASE WHEN usage_date > $ds - 30 THEN events ELSE 0 END) AS usage_30d,
    SUM(CASE WHEN usage_date <= $ds - 30 THEN events ELSE 0 END) AS usage_prev_30d
  FROM dwd_product_usage
  WHERE usage_date <= $ds AND usage_date > $ds - 60
  GROUP BY customer_id
),
nps AS (
  SELECT customer_id, score AS latest_nps, submit_date AS latest_nps_date
  FROM (
    SELECT customer_id, score, submit_date,
      ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY submitted_at DESC, response_id DESC)
        AS rn
    FROM dwd_survey
    WHERE survey_type = 'NPS' AND submit_date <= $ds
  ) ranked
  WHERE rn = 1
),
csat AS (
  SELECT customer_id,
    COUNT(*) AS csat_responses_90d,
    AVG(CAST(score AS DOUBLE)) AS csat_avg_90d
  FROM dwd_survey
  WHERE survey_type = 'CSAT' AND submit_date <= $ds AND submit_date > $ds - 90
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
signals AS (
  SELECT customer_id, detected_date AS latest_competitor_signal_date,
    competitor AS latest_competitor, signal_type AS latest_competitor_signal_type
  FROM (
    SELECT customer_id, detected_date, competitor, signal_type,
      ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY detected_at DESC, signal_id DESC) AS rn
    FROM dwd_competitor_signal
    WHERE detected_date <= $ds
  ) ranked
  WHERE rn = 1
),
trials AS (
  SELECT customer_id, MAX(detected_date) AS last_competitor_trial_date
  FROM dwd_competitor_signal
  WHERE signal_type = 'trial' AND detected_date <= $ds
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
  COALESCE(o.amount_30d_cny, 0.0) AS amount_30d_cny,
  COALESCE(o.amount_90d_cny, 0.0) AS amount_90d_cny,
  COALESCE(o.amount_180d_cny, 0.0) AS amount_180d_cny,
  COALESCE(o.amount_365d_cny, 0.0) AS amount_365d_cny,
  COALESCE(o.amount_lifetime_cny, 0.0) AS amount_lifetime_cny,
  COALESCE(o.categories_365d, 0) AS categories_365d,
  COALESCE(i.interactions_7d, 0) AS interactions_7d,
  COALESCE(i.interactions_30d, 0) AS interactions_30d,
  COALESCE(i.interactions_60d, 0) AS interactions_60d,
  COALESCE(i.interactions_365d, 0) AS interactions_365d,
  i.last_interaction_date,
  t.top_intent_90d,
  COALESCE(i.emails_sent_90d, 0) AS emails_sent_90d,
  CAST(i.emails_opened_90d AS DOUBLE) / NULLIF(i.emails_tracked_90d, 0) AS email_open_rate_90d,
  COALESCE(i.complaints_90d, 0) AS complaints_90d,
  COALESCE(u.usage_30d, 0) AS usage_30d,
  COALESCE(u.usage_prev_30d, 0) AS usage_prev_30d,
  n.latest_nps,
  n.latest_nps_date,
  COALESCE(s.csat_responses_90d, 0) AS csat_responses_90d,
  s.csat_avg_90d,
  COALESCE(k.active_contracts, 0) AS active_contracts,
  k.active_contract_end_date,
  k.next_contract_end_date,
  g.latest_competitor_signal_date,
  g.latest_competitor,
  g.latest_competitor_signal_type,
  tr.last_competitor_trial_date
FROM dwd_customer c
LEFT JOIN orders o ON o.customer_id = c.customer_id
LEFT JOIN interactions i ON i.customer_id = c.customer_id
LEFT JOIN intents t ON t.customer_id = c.customer_id
LEFT JOIN usage u ON u.customer_id = c.customer_id
LEFT JOIN nps n ON n.customer_id = c.customer_id
LEFT JOIN csat s ON s.customer_id = c.customer_id
LEFT JOIN contracts k ON k.customer_id = c.customer_id
LEFT JOIN signals g ON g.customer_id = c.customer_id
LEFT JOIN trials tr ON tr.customer_id = c.customer_id
