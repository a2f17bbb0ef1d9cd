-- First half of matching: each customer record's provisional cluster label after two rounds of
-- label propagation over shared match keys (a round: every key takes the smallest label of its
-- records, then every record the smallest label of its keys). Labels start as the record ids, so
-- the smallest label of a cluster is its anchor: CRM before ERP before shop, then the smallest id.
-- Aggregating before joining keeps each round linear even when many records share a key.
WITH keys AS (
  SELECT r, k FROM dwd_customer_match_key WHERE k IS NOT NULL
), kl0 AS (
  SELECT k, MIN(r) AS label FROM keys GROUP BY k
), l1 AS (
  SELECT keys.r, MIN(kl0.label) AS label FROM keys JOIN kl0 ON kl0.k = keys.k GROUP BY keys.r
), kl1 AS (
  SELECT keys.k, MIN(l1.label) AS label FROM keys JOIN l1 ON l1.r = keys.r GROUP BY keys.k
), l2 AS (
  SELECT keys.r, MIN(kl1.label) AS label FROM keys JOIN kl1 ON kl1.k = keys.k GROUP BY keys.r
)
SELECT r, label FROM l2
