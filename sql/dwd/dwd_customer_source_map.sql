-- Every customer record of the three sources, mapped to one customer_id (the golden record key).
-- Records are the same customer when they share a match key (dwd_customer_match_key), directly or
-- through other records: connected components, found by propagating the smallest label four
-- times (two hops each; real clusters are far smaller than that reach). The label is the
-- cluster's anchor record, CRM before ERP before shop, then the smallest id, so a customer keeps
-- its id as long as its anchor record exists.
WITH keys AS (
  SELECT r, k FROM dwd_customer_match_key WHERE k IS NOT NULL
), recs AS (
  SELECT DISTINCT r, source_system, source_customer_id FROM dwd_customer_match_key
), l1 AS (
  SELECT k.r, MIN(k2.r) AS label FROM keys k JOIN keys k2 ON k.k = k2.k GROUP BY k.r
), kl1 AS (
  SELECT k.k, MIN(l.label) AS label FROM keys k JOIN l1 l ON l.r = k.r GROUP BY k.k
), l2 AS (
  SELECT k.r, MIN(kl.label) AS label FROM keys k JOIN kl1 kl ON kl.k = k.k GROUP BY k.r
), kl2 AS (
  SELECT k.k, MIN(l.label) AS label FROM keys k JOIN l2 l ON l.r = k.r GROUP BY k.k
), l3 AS (
  SELECT k.r, MIN(kl.label) AS label FROM keys k JOIN kl2 kl ON kl.k = k.k GROUP BY k.r
), kl3 AS (
  SELECT k.k, MIN(l.label) AS label FROM keys k JOIN l3 l ON l.r = k.r GROUP BY k.k
), l4 AS (
  SELECT k.r, MIN(kl.label) AS label FROM keys k JOIN kl3 kl ON kl.k = k.k GROUP BY k.r
)
SELECT recs.source_system,
       recs.source_customer_id,
       'CU' || upper(substr(md5(COALESCE(l4.label, recs.r)), 1, 12)) AS customer_id
FROM recs
LEFT JOIN l4 ON l4.r = recs.r
