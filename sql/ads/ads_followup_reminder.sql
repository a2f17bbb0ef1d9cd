-- ads_followup_reminder: seed 001's reminders due in [$ds, $ds + $reminder_days): contact
-- birthdays (29 February falls on 28 February in common years), expected repurchases (last paid
-- order + average days between paid orders, rounded to whole days, for customers with >= 3),
-- active contracts ending, and campaigns (seed_campaigns) starting, for every customer whose top
-- category (ads_customer_preference) is among the campaign's target_categories or whose value
-- tier on $ds (ads_rfm_score) is among its target_tiers (both ';'-separated lists).
-- Text columns are cast to Utf8, the contract's STRING (inputs may arrive as Utf8View).
WITH days AS (
  SELECT $ds + k AS due_date
  FROM (SELECT unnest(range(0, $reminder_days)) AS k) offsets
),
birthdays AS (
  SELECT c.customer_id, d.due_date, 'birthday' AS reminder_type,
    '联系人生日 ' || to_char(c.contact_birthday, '%m-%d') AS detail
  FROM dwd_customer c
  JOIN days d
    ON (EXTRACT(month FROM d.due_date) = EXTRACT(month FROM c.contact_birthday)
        AND EXTRACT(day FROM d.due_date) = EXTRACT(day FROM c.contact_birthday))
    OR (EXTRACT(month FROM c.contact_birthday) = 2 AND EXTRACT(day FROM c.contact_birthday) = 29
        AND EXTRACT(month FROM d.due_date) = 2 AND EXTRACT(day FROM d.due_date) = 28
        AND EXTRACT(month FROM d.due_date + 1) = 3)
),
repurchase AS (
  SELECT customer_id, last_order_date + gap AS due_date, 'repurchase' AS reminder_type,
    '上次下单 ' || CAST(last_order_date AS VARCHAR) || ', 平均间隔 ' || CAST(gap AS VARCHAR)
      || ' 天' AS detail
  FROM (
    SELECT customer_id, last_order_date,
      CAST(ROUND(CAST(last_order_date - first_order_date AS DOUBLE)
        / NULLIF(orders_lifetime - 1, 0)) AS BIGINT) AS gap
    FROM dws_customer_snapshot
    WHERE ds = $ds AND orders_lifetime >= 3
  ) g
),
renewals AS (
  SELECT customer_id, end_date AS due_date, 'renewal' AS reminder_type,
    '合同 ' || contract_id || ' 到期' AS detail
  FROM dwd_contract
  WHERE start_date <= $ds AND end_date >= $ds
),
targeted AS (
  SELECT k.campaign_id, k.name, k.start_date, p.customer_id
  FROM seed_campaigns k
  JOIN ads_customer_preference p
    ON p.ds = $ds AND p.is_top_category
   AND strpos(';' || k.target_categories || ';', ';' || p.product_category || ';') > 0
  UNION ALL
  SELECT k.campaign_id, k.name, k.start_date, r.customer_id
  FROM seed_campaigns k
  JOIN ads_rfm_score r
    ON r.ds = $ds AND strpos(';' || k.target_tiers || ';', ';' || r.value_tier || ';') > 0
),
campaigns AS (
  SELECT DISTINCT customer_id, start_date AS due_date, 'campaign' AS reminder_type,
    '活动 ' || campaign_id || ' ' || name || ' 开始' AS detail
  FROM targeted
  WHERE start_date >= $ds AND start_date < $ds + $reminder_days
),
reminders AS (
  SELECT * FROM birthdays
  UNION ALL
  SELECT * FROM repurchase
  UNION ALL
  SELECT * FROM renewals
  UNION ALL
  SELECT * FROM campaigns
)
SELECT
  $ds AS ds,
  arrow_cast(r.customer_id, 'Utf8') AS customer_id,
  r.reminder_type,
  r.due_date,
  arrow_cast(c.owner_rep, 'Utf8') AS owner_rep,
  arrow_cast(r.detail, 'Utf8') AS detail
FROM reminders r
JOIN dwd_customer c ON c.customer_id = r.customer_id
WHERE r.due_date >= $ds AND r.due_date < $ds + $reminder_days
