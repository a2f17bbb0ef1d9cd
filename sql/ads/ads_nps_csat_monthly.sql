-- ads_nps_csat_monthly: NPS and CSAT per business month of submission, overall and by value tier
-- (as of $ds), industry and province (NULL shown as 未知). One row per month and dimension
-- value with at least one valid response.
-- Text columns are cast to Utf8, the contract's STRING (inputs may arrive as Utf8View).
WITH responses AS (
  SELECT m.month, m.nps_responses, m.promoters, m.passives, m.detractors,
    m.csat_responses, m.csat_satisfied, m.csat_score_sum,
    COALESCE(r.value_tier, '未知') AS value_tier,
    COALESCE(c.industry, '未知') AS industry,
    COALESCE(c.province, '未知') AS province
  FROM dws_customer_monthly m
  JOIN dwd_customer c ON c.customer_id = m.customer_id
  LEFT JOIN ads_rfm_score r ON r.customer_id = m.customer_id AND r.ds = $ds
  WHERE m.nps_responses > 0 OR m.csat_responses > 0
),
cut AS (
  SELECT r.*, d.dimension,
    CASE d.dimension
      WHEN 'value_tier' THEN r.value_tier
      WHEN 'industry' THEN r.industry
      WHEN 'province' THEN r.province
      ELSE 'all'
    END AS dimension_value
  FROM responses r
  CROSS JOIN (VALUES ('all'), ('value_tier'), ('industry'), ('province')) AS d(dimension)
),
totals AS (
  SELECT month, dimension, dimension_value,
    SUM(nps_responses) AS nps_responses,
    SUM(promoters) AS promoters,
    SUM(passives) AS passives,
    SUM(detractors) AS detractors,
    SUM(csat_responses) AS csat_responses,
    SUM(csat_satisfied) AS csat_satisfied,
    SUM(csat_score_sum) AS csat_score_sum
  FROM cut
  GROUP BY month, dimension, dimension_value
)
SELECT
  month,
  arrow_cast(dimension, 'Utf8') AS dimension,
  arrow_cast(dimension_value, 'Utf8') AS dimension_value,
  nps_responses,
  promoters,
  passives,
  detractors,
  100.0 * (promoters - detractors) / NULLIF(nps_responses, 0) AS nps,
  csat_responses,
  csat_satisfied,
  100.0 * csat_satisfied / NULLIF(csat_responses, 0) AS csat,
  CAST(csat_score_sum AS DOUBLE) / NULLIF(csat_responses, 0) AS csat_avg
FROM totals
