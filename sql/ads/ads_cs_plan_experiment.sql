-- ads_cs_plan_experiment: seed 000's A/B test of two customer-success plans, per plan and month
-- since the plan start (README, "Plan experiments"). Figures from dws_cs_plan_experiment; the
-- decision applies seed 000's rule to each non-control plan's row: after
-- $plan_decision_months months, roll the plan out when its NPS is at least $plan_min_nps_lift
-- points and its renewal rate at least $plan_min_renewal_lift higher than the control's, each
-- difference with a p-value at most $plan_alpha (1.0: the thresholds alone).
SELECT
  plan,
  months_since_start,
  units AS customers,
  nps_n AS nps_responses,
  nps, nps_low, nps_high,
  renewal_rate_n AS renewal_customers,
  renewal_rate, renewal_rate_low, renewal_rate_high,
  nps_diff, nps_diff_low, nps_diff_high, nps_p_value,
  renewal_rate_diff, renewal_rate_diff_low, renewal_rate_diff_high, renewal_rate_p_value,
  CASE
    WHEN is_control THEN NULL
    WHEN months_since_start < $plan_decision_months THEN 'too_early'
    -- No control rows this month, or no NPS answer or ended contract on one side: no comparison.
    WHEN nps_diff IS NULL OR renewal_rate_diff IS NULL THEN 'no_comparison'
    WHEN nps_diff >= $plan_min_nps_lift AND renewal_rate_diff >= $plan_min_renewal_lift
      AND nps_p_value <= $plan_alpha AND renewal_rate_p_value <= $plan_alpha THEN 'roll_out'
    ELSE 'keep_control'
  END AS decision
FROM dws_cs_plan_experiment
