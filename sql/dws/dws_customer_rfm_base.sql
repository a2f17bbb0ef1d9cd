-- The inputs of ads_rfm_score per customer as of $ds: recency from the snapshot, paid orders and
-- CNY in ($ds - $rfm_window_days, $ds], the high-activity and wake-up flags. Its own stage so the
-- ranking in ads_rfm_score runs over this small table instead of re-aggregating the orders.
-- monetary_365d is an exact decimal sum: equal spends are equal, whatever the summation order.
WITH windowed AS (
  SELECT customer_id,
    SUM(CASE WHEN order_date > $ds - $rfm_window_days THEN 1 ELSE 0 END) AS frequency,
    SUM(CASE WHEN order_date > $ds - $rfm_window_days THEN amount_cny END) AS monetary,
    SUM(CASE WHEN order_date > $ds - $high_activity_days THEN 1 ELSE 0 END) AS recent_orders
  FROM dwd_order
  WHERE status = 'paid' AND order_date <= $ds
  GROUP BY customer_id
)
SELECT s.customer_id, s.recency_days,
    COALESCE(w.frequency, 0) AS frequency_365d,
    COALESCE(w.monetary, CAST(0 AS DECIMAL(18, 2))) AS monetary_365d,
    COALESCE(w.recent_orders, 0) >= $high_activity_min_orders AS high_activity_value,
    COALESCE(s.last_interaction_date <= $ds - 365, true)
      AND s.amount_lifetime_cny >= $wakeup_min_lifetime_cny AS wake_up_plan
  FROM dws_customer_snapshot s
  LEFT JOIN windowed w ON w.customer_id = s.customer_id
  WHERE s.ds = $ds
