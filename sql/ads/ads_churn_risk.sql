-- ads_churn_risk: the churn probability of each customer active at $ds (a paid order or product
-- usage in the last 90 days), from the random forest of dws_churn_score, with its risk band and
-- the three features that raise the probability most (README, "Churn").
-- Bands: high when the probability is at least $churn_high_probability, medium when at least
-- $churn_medium_probability, else low.
SELECT
  s.ds,
  s.customer_id,
  s.probability AS churn_probability,
  CASE
    WHEN s.probability >= $churn_high_probability THEN 'high'
    WHEN s.probability >= $churn_medium_probability THEN 'medium'
    ELSE 'low'
  END AS risk_band,
  s.top_feature_1,
  s.top_feature_2,
  s.top_feature_3,
  s.model_id
FROM dws_churn_score s
WHERE s.ds = $ds
