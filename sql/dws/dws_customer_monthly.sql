-- dws_customer_monthly: one row per customer and business month (up to the month of $ds) with
-- any paid order, interaction or valid survey response in it. Feeds the monthly ADS rollups.
-- paid_amount_cny is an exact decimal sum of DECIMAL(18,2) amounts.
WITH events AS (
  SELECT customer_id, order_date AS event_date, 1 AS paid_order, amount_cny,
    0 AS interaction, CAST(NULL AS VARCHAR) AS survey_type, CAST(NULL AS INT) AS score
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds
  UNION ALL
  SELECT customer_id, interaction_date, 0, CAST(0 AS DECIMAL(18, 2)), 1, CAST(NULL AS VARCHAR),
    CAST(NULL AS INT)
  FROM dwd_interaction
  WHERE interaction_date <= $ds
  UNION ALL
  SELECT customer_id, submit_date, 0, CAST(0 AS DECIMAL(18, 2)), 0, survey_type, score
  FROM dwd_survey
  WHERE submit_date <= $ds
)
SELECT
  CAST(date_trunc('month', event_date) AS DATE) AS month,
  customer_id,
  SUM(paid_order) AS paid_orders,
  SUM(amount_cny) AS paid_amount_cny,
  SUM(interaction) AS interactions,
  SUM(CASE WHEN survey_type = 'NPS' THEN 1 ELSE 0 END) AS nps_responses,
  SUM(CASE WHEN survey_type = 'NPS' AND score >= 9 THEN 1 ELSE 0 END) AS promoters,
  SUM(CASE WHEN survey_type = 'NPS' AND score BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS passives,
  SUM(CASE WHEN survey_type = 'NPS' AND score <= 6 THEN 1 ELSE 0 END) AS detractors,
  SUM(CASE WHEN survey_type = 'CSAT' THEN 1 ELSE 0 END) AS csat_responses,
  SUM(CASE WHEN survey_type = 'CSAT' AND score >= 4 THEN 1 ELSE 0 END) AS csat_satisfied,
  SUM(CASE WHEN survey_type = 'CSAT' THEN CAST(score AS BIGINT) ELSE 0 END) AS csat_score_sum
FROM events
GROUP BY 1, 2
