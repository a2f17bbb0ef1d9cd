-- The features of the plan experiment: one row per enrolled customer and complete month since
-- the plan start (see dws_cs_plan_outcome); the experiment model compares the plans per month.
SELECT customer_id, plan, months_since_start, nps_score, renewed
FROM dws_cs_plan_outcome
