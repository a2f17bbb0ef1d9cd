-- Interaction metrics and the top intent in 90 days per customer as of $ds (part of
-- dws_customer_snapshot, computed as its own stage to keep each plan's memory small).
WITH acts AS (
  SELECT customer_id, interaction_date, channel, direction, opened, intent,
    interaction_date > $ds - 90 AS in_90d
  FROM dwd_interaction
  WHERE interaction_date <= $ds
),
interactions AS (
  SELECT customer_id,
    SUM(CASE WHEN interaction_date > $ds - 7 THEN 1 ELSE 0 END) AS interactions_7d,
    SUM(CASE WHEN interaction_date > $ds - 30 THEN 1 ELSE 0 END) AS interactions_30d,
    SUM(CASE WHEN interaction_date > $ds - 60 THEN 1 ELSE 0 END) AS interactions_60d,
    SUM(CASE WHEN interaction_date > $ds - 365 THEN 1 ELSE 0 END) AS interactions_365d,
    MAX(interaction_date) AS last_interaction_date,
    SUM(CASE WHEN in_90d AND channel = 'email' AND direction = 'out' THEN 1 ELSE 0 END)
      AS emails_sent_90d,
    SUM(CASE WHEN in_90d AND channel = 'email' AND direction = 'out' AND opened IS NOT NULL
      THEN 1 ELSE 0 END) AS emails_tracked_90d,
    SUM(CASE WHEN in_90d AND channel = 'email' AND direction = 'out' AND opened
      THEN 1 ELSE 0 END) AS emails_opened_90d,
    SUM(CASE WHEN in_90d AND channel = 'ticket' AND direction = 'in' THEN 1 ELSE 0 END)
      AS complaints_90d
  FROM acts
  GROUP BY customer_id
),
-- The most frequent intent in 90 days; ties go to the label that sorts first.
intents AS (
  SELECT customer_id, intent AS top_intent_90d
  FROM (
    SELECT customer_id, intent,
      ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY COUNT(*) DESC, intent) AS rn
    FROM acts
    WHERE in_90d
    GROUP BY customer_id, intent
  ) ranked
  WHERE rn = 1
)
SELECT i.*, t.top_intent_90d
FROM interactions i
LEFT JOIN intents t ON t.customer_id = i.customer_id
