-- dws_churn_score (model stage, random forest): the features query. One row per customer active
-- at a cutoff date, with the customer's metrics as of the end of that cutoff (the definitions of
-- dws_customer_snapshot, recomputed at each cutoff so that one run can train on the past) and the
-- churn label where it is known.
--
-- Cutoffs: $ds itself (its rows have no label yet: they are scored) and the training cutoffs
-- $ds - 180 - 30k for k = 0 .. $churn_training_cutoffs - 1 (the latest is the model's holdout).
-- Active at cutoff c: a paid order or a product-usage event in (c - 90, c].
-- Churned within 90 days after c (README, "Churn"): active at c, and no paid order and no
-- product-usage event in (c + 90, c + 180]: the customer had stopped by c + 90 and stayed
-- away for the following 90 days. A label therefore needs 180 days after its cutoff.
-- NULL features (no survey, no contract) are left NULL; the model reads them as missing.
WITH cutoffs AS (
  SELECT $ds AS cutoff
  UNION ALL
  SELECT $ds - 180 - 30 * k FROM unnest(range(0, $churn_training_cutoffs)) AS t(k)
),
paid AS (
  SELECT customer_id, order_date, amount_cny
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds
),
orders AS (
  SELECT c.cutoff, p.customer_id,
    MAX(p.order_date) FILTER (WHERE p.order_date <= c.cutoff) AS last_order_date,
    COUNT(*) FILTER (WHERE p.order_date > c.cutoff - 90 AND p.order_date <= c.cutoff) AS orders_90d,
    COUNT(*) FILTER (WHERE p.order_date > c.cutoff - 365 AND p.order_date <= c.cutoff) AS orders_365d,
    -- Exact decimal sums, converted once: the same bits whatever order the rows are added in.
    CAST(SUM(p.amount_cny) FILTER (WHERE p.order_date > c.cutoff - 90 AND p.order_date <= c.cutoff)
      AS DOUBLE) AS amount_90d_cny,
    CAST(SUM(p.amount_cny) FILTER (WHERE p.order_date > c.cutoff - 365 AND p.order_date <= c.cutoff)
      AS DOUBLE) AS amount_365d_cny,
    COUNT(*) FILTER (WHERE p.order_date > c.cutoff + 90 AND p.order_date <= c.cutoff + 180)
      AS orders_after
  FROM paid p
  JOIN cutoffs c ON p.order_date > c.cutoff - 365 AND p.order_date <= c.cutoff + 180
  GROUP BY c.cutoff, p.customer_id
),
usage AS (
  SELECT c.cutoff, u.customer_id,
    SUM(u.events) FILTER (WHERE u.usage_date > c.cutoff - 30 AND u.usage_date <= c.cutoff) AS usage_30d,
    SUM(u.events) FILTER (WHERE u.usage_date > c.cutoff - 60 AND u.usage_date <= c.cutoff - 30)
      AS usage_prev_30d,
    SUM(u.events) FILTER (WHERE u.usage_date > c.cutoff - 90 AND u.usage_date <= c.cutoff) AS usage_90d,
    SUM(u.events) FILTER (WHERE u.usage_date > c.cutoff + 90 AND u.usage_date <= c.cutoff + 180)
      AS usage_after
  FROM dwd_product_usage u
  JOIN cutoffs c ON u.usage_date > c.cutoff - 90 AND u.usage_date <= c.cutoff + 180
  WHERE u.usage_date <= $ds
  GROUP BY c.cutoff, u.customer_id
),
interactions AS (
  SELECT c.cutoff, i.customer_id,
    COUNT(*) FILTER (WHERE i.interaction_date > c.cutoff - 30) AS interactions_30d,
    COUNT(*) AS interactions_90d,
    COUNT(*) FILTER (WHERE i.channel = 'ticket' AND i.direction = 'in') AS complaints_90d
  FROM dwd_interaction i
  JOIN cutoffs c ON i.interaction_date > c.cutoff - 90 AND i.interaction_date <= c.cutoff
  GROUP BY c.cutoff, i.customer_id
),
surveys AS (
  SELECT c.cutoff, s.customer_id,
    first_value(s.score ORDER BY s.submitted_at DESC, s.response_id DESC)
      FILTER (WHERE s.survey_type = 'NPS') AS latest_nps,
    AVG(CAST(s.score AS DOUBLE))
      FILTER (WHERE s.survey_type = 'CSAT' AND s.submit_date > c.cutoff - 90) AS csat_avg_90d
  FROM dwd_survey s
  JOIN cutoffs c ON s.submit_date <= c.cutoff
  WHERE s.survey_type IN ('NPS', 'CSAT')
  GROUP BY c.cutoff, s.customer_id
),
signals AS (
  SELECT c.cutoff, g.customer_id,
    COUNT(*) AS competitor_signals_90d,
    COUNT(*) FILTER (WHERE g.signal_type = 'trial') AS competitor_trials_90d
  FROM dwd_competitor_signal g
  JOIN cutoffs c ON g.detected_date > c.cutoff - 90 AND g.detected_date <= c.cutoff
  GROUP BY c.cutoff, g.customer_id
),
contracts AS (
  SELECT c.cutoff, k.customer_id,
    CAST(MIN(k.end_date) - c.cutoff AS INT) AS days_to_contract_end
  FROM dwd_contract k
  JOIN cutoffs c ON k.start_date <= c.cutoff AND k.end_date >= c.cutoff
  GROUP BY c.cutoff, k.customer_id
),
active AS (
  SELECT cutoff, customer_id FROM orders WHERE orders_90d > 0
  UNION
  SELECT cutoff, customer_id FROM usage WHERE usage_90d > 0
)
SELECT
  a.customer_id,
  a.cutoff,
  CAST(a.cutoff - o.last_order_date AS INT) AS recency_days,
  COALESCE(o.orders_90d, 0) AS orders_90d,
  COALESCE(o.orders_365d, 0) AS orders_365d,
  COALESCE(o.amount_90d_cny, 0.0) AS amount_90d_cny,
  COALESCE(o.amount_365d_cny, 0.0) AS amount_365d_cny,
  COALESCE(u.usage_30d, 0) AS usage_30d,
  COALESCE(u.usage_prev_30d, 0) AS usage_prev_30d,
  CAST(COALESCE(u.usage_30d, 0) AS DOUBLE) / NULLIF(u.usage_prev_30d, 0) AS usage_ratio,
  COALESCE(i.interactions_30d, 0) AS interactions_30d,
  COALESCE(i.interactions_90d, 0) AS interactions_90d,
  COALESCE(i.complaints_90d, 0) AS complaints_90d,
  s.latest_nps,
  s.csat_avg_90d,
  COALESCE(g.competitor_signals_90d, 0) AS competitor_signals_90d,
  COALESCE(g.competitor_trials_90d, 0) AS competitor_trials_90d,
  k.days_to_contract_end,
  CAST(a.cutoff - d.first_seen_date AS INT) AS tenure_days,
  CASE WHEN a.cutoff = $ds THEN NULL
    ELSE COALESCE(o.orders_after, 0) = 0 AND COALESCE(u.usage_after, 0) = 0 END AS churned_90d
FROM active a
JOIN dwd_customer d ON d.customer_id = a.customer_id
LEFT JOIN orders o ON o.cutoff = a.cutoff AND o.customer_id = a.customer_id
LEFT JOIN usage u ON u.cutoff = a.cutoff AND u.customer_id = a.customer_id
LEFT JOIN interactions i ON i.cutoff = a.cutoff AND i.customer_id = a.customer_id
LEFT JOIN surveys s ON s.cutoff = a.cutoff AND s.customer_id = a.customer_id
LEFT JOIN signals g ON g.cutoff = a.cutoff AND g.customer_id = a.customer_id
LEFT JOIN contracts k ON k.cutoff = a.cutoff AND k.customer_id = a.customer_id
