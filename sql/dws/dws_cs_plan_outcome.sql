-- Outcomes of the plan experiment (read by dws_cs_plan_experiment): one row per enrolled customer and
-- complete month since the plan start, with the outcomes observed up to the end of that month.
-- Month m of a customer whose plan started on s runs while months_elapsed(s, date) = m - 1 (whole
-- calendar months, less one while the day of the month of s is not yet reached, as Postgres'
-- age() counts); it is complete once ds is its last day or later.
-- - Enrolment: a customer's earliest start_date; a customer assigned to two different plans
--   (a crossover, whenever either starts) is left out of the comparison.
-- - nps_score: the customer's latest valid NPS score submitted in months 1..m; NULL if none.
-- - renewed: for customers with a contract ending in months 1..m (and by ds), whether every such
--   contract has a renewing contract (renewed_from); NULL if none ended.
WITH assigned AS (
  -- Crossovers are known from every landed assignment, whenever it starts: a customer already
  -- assigned to plan B from next month is not counted in plan A meanwhile.
  SELECT customer_id, plan, start_date
  FROM (
    SELECT customer_id, MIN(plan) AS plan, MIN(start_date) AS start_date
    FROM dwd_cs_plan
    GROUP BY customer_id
    HAVING COUNT(DISTINCT plan) = 1
  )
  WHERE start_date <= $ds
), after_ds AS (
  SELECT CAST(CAST($ds AS DATE) + INTERVAL '1 day' AS DATE) AS d
), elapsed AS (
  -- Whole months from start_date to the day after ds: the complete months.
  SELECT customer_id, plan, start_date,
    months_elapsed(start_date, x.d) AS complete_months
  FROM assigned CROSS JOIN after_ds x
), months AS (
  SELECT e.customer_id, e.plan, CAST(m.months_since_start AS BIGINT) AS months_since_start
  FROM elapsed e
  CROSS JOIN (SELECT unnest(range(1, $plan_experiment_months + 1)) AS months_since_start) m
  WHERE m.months_since_start <= e.complete_months
), responses AS (
  -- Valid NPS answers since the start, with the month they fall in.
  SELECT s.customer_id, s.score, s.submitted_at, s.response_id,
    1 + months_elapsed(a.start_date, s.submit_date) AS month_of
  FROM dwd_survey s
  JOIN assigned a ON a.customer_id = s.customer_id
  WHERE s.survey_type = 'NPS' AND s.submit_date >= a.start_date AND s.submit_date <= $ds
), latest_score AS (
  SELECT customer_id, months_since_start, score
  FROM (
    SELECT m.customer_id, m.months_since_start, r.score,
      ROW_NUMBER() OVER (PARTITION BY m.customer_id, m.months_since_start
                         ORDER BY r.submitted_at DESC, r.response_id DESC) AS rn
    FROM months m
    JOIN responses r ON r.customer_id = m.customer_id AND r.month_of <= m.months_since_start
  )
  WHERE rn = 1
), endings AS (
  -- Contracts ending since the start (and by ds), with the month they end in and their outcome.
  SELECT k.customer_id, r.renewed_from IS NOT NULL AS renewed,
    1 + months_elapsed(a.start_date, k.end_date) AS month_of
  FROM dwd_contract k
  JOIN assigned a ON a.customer_id = k.customer_id
  LEFT JOIN (
    SELECT DISTINCT renewed_from FROM dwd_contract WHERE renewed_from IS NOT NULL
  ) r ON r.renewed_from = k.contract_id
  WHERE k.end_date >= a.start_date AND k.end_date <= $ds
), renewal AS (
  SELECT m.customer_id, m.months_since_start, bool_and(e.renewed) AS renewed
  FROM months m
  JOIN endings e ON e.customer_id = m.customer_id AND e.month_of <= m.months_since_start
  GROUP BY m.customer_id, m.months_since_start
)
SELECT m.customer_id, m.plan, m.months_since_start,
  CAST(s.score AS BIGINT) AS nps_score, r.renewed
FROM months m
LEFT JOIN latest_score s
  ON s.customer_id = m.customer_id AND s.months_since_start = m.months_since_start
LEFT JOIN renewal r
  ON r.customer_id = m.customer_id AND r.months_since_start = m.months_since_start
