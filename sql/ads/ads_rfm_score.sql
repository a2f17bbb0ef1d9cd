-- ads_rfm_score: seed 000's RFM score, quintiles, value tier and segment for every customer as of
-- $ds (DOMAIN.md, ads_rfm_score). Frequency and monetary count paid orders in
-- ($ds - $rfm_window_days, $ds]; quintiles rank only customers with a paid order (worst first,
-- ties share a quintile); the value tier ranks everyone by rfm_score, from the top for 高价值 and
-- from the bottom for 低活跃, so ties share a tier: every customer with score 0 is 低活跃 however
-- many they are (DOMAIN.md, changed 2026-11-29).
-- monetary_365d arrives as an exact decimal sum: the quintile ranks it as such (equal spends tie),
-- and it is converted to DOUBLE once, for m_norm and the output column, so reruns give the
-- same bits.
-- Text columns are cast to Utf8, the contract's STRING (inputs may arrive as Utf8View).
WITH base AS (
  SELECT * FROM dws_customer_rfm_base
),
normed AS (
  SELECT *,
    CASE WHEN recency_days IS NULL THEN 0.0
      ELSE GREATEST(0.0, 1.0 - CAST(recency_days AS DOUBLE) / $rfm_window_days) END AS r_norm,
    LEAST(CAST(frequency_365d AS DOUBLE) / $rfm_max_orders, 1.0) AS f_norm,
    LEAST(GREATEST(CAST(monetary_365d AS DOUBLE), 0.0) / $rfm_max_monetary_cny, 1.0) AS m_norm
  FROM base
),
scored AS (
  SELECT *, (r_norm + f_norm + m_norm) / 3.0 AS rfm_score FROM normed
),
-- The counts come from an aggregate, not COUNT(*) OVER (): a window over the whole table holds
-- every row in one batch, which does not fit a small memory limit.
counts AS (
  SELECT COUNT(*) AS n_all, COUNT(recency_days) AS n_paid FROM base
),
-- Recency (days) and frequency (orders) take few distinct values: RANK() of a value is one
-- plus the number of paid customers before it, a running sum over the value counts, joined
-- back by value with the few values as the held side. Two whole-table sorts fewer.
r_ranks AS (
  SELECT recency_days, SUM(n) OVER (ORDER BY recency_days DESC) - n + 1 AS r_rank
  FROM (SELECT recency_days, COUNT(*) AS n FROM base WHERE recency_days IS NOT NULL
        GROUP BY recency_days) g
),
f_ranks AS (
  SELECT frequency_365d, SUM(n) OVER (ORDER BY frequency_365d) - n + 1 AS f_rank
  FROM (SELECT frequency_365d, COUNT(*) AS n FROM base WHERE recency_days IS NOT NULL
        GROUP BY frequency_365d) g
),
-- Quintiles rank only customers with a paid order (recency_days set). Not by a CTE of the paid
-- joined back by customer_id: that join held every paid customer (2 x 420 MB at 5,000,000
-- customers) beside the sorts, and the stage did not fit --memory-limit 4GB there
-- (bench/NOTES.md). Monetary is ranked in place: the paid rows come first in its ordering
-- (`recency_days IS NULL` as the first key), so a paid customer's rank over everyone is its rank
-- among the paid; the others get NULL.
tiered AS (
  SELECT s.*,
    CAST(1 + 5 * (CAST(r.r_rank AS BIGINT) - 1) / k.n_paid AS INT) AS r_quintile,
    CASE WHEN s.recency_days IS NOT NULL THEN
      CAST(1 + 5 * (CAST(f.f_rank AS BIGINT) - 1) / k.n_paid AS INT) END AS f_quintile,
    CASE WHEN s.recency_days IS NOT NULL THEN CAST(1 + 5 * (CAST(RANK() OVER (
      ORDER BY s.recency_days IS NULL, s.monetary_365d) AS BIGINT) - 1) / k.n_paid AS INT) END
      AS m_quintile,
    CAST(CAST(RANK() OVER (ORDER BY s.rfm_score DESC) AS BIGINT) - 1 AS DOUBLE)
      / CAST(k.n_all AS DOUBLE) AS p_top,
    CAST(CAST(RANK() OVER (ORDER BY s.rfm_score ASC) AS BIGINT) - 1 AS DOUBLE)
      / CAST(k.n_all AS DOUBLE) AS p_bottom
  FROM r_ranks r
  RIGHT JOIN (f_ranks f RIGHT JOIN scored s ON f.frequency_365d = s.frequency_365d)
    ON r.recency_days = s.recency_days
  CROSS JOIN counts k
)
SELECT
  $ds AS ds,
  arrow_cast(customer_id, 'Utf8') AS customer_id,
  recency_days,
  frequency_365d,
  CAST(monetary_365d AS DOUBLE) AS monetary_365d,
  r_norm,
  f_norm,
  m_norm,
  rfm_score,
  r_quintile,
  f_quintile,
  m_quintile,
  CASE WHEN p_top < 0.2 THEN '高价值' WHEN p_bottom < 0.2 THEN '低活跃' ELSE '潜力型' END AS value_tier,
  CASE
    WHEN recency_days IS NULL THEN 'Prospect'
    WHEN r_quintile >= 4 AND f_quintile + m_quintile >= 8 THEN 'Champions'
    WHEN r_quintile >= 3 AND f_quintile + m_quintile >= 6 THEN 'Loyal'
    WHEN r_quintile >= 4 AND f_quintile = 1 THEN 'New'
    WHEN r_quintile >= 4 THEN 'Promising'
    WHEN r_quintile <= 2 AND f_quintile + m_quintile >= 6 THEN 'At Risk'
    WHEN r_quintile = 3 THEN 'Needs Attention'
    WHEN r_quintile = 2 THEN 'Hibernating'
    ELSE 'Lost'
  END AS rfm_segment,
  high_activity_value,
  wake_up_plan
FROM tiered
