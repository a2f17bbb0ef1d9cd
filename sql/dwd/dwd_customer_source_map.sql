-- Every customer record of the three sources, mapped to one customer_id (the golden record key).
-- Records are the same customer when they share a match key (dwd_customer_match_key), directly
-- or through other records. dwd_customer_cluster ran two rounds of label propagation; two more
-- here make four (eight hops; real clusters are far smaller than that reach). The label is the
-- cluster's anchor record, so a customer keeps its id as long as its anchor record exists.
WITH keys AS (
  SELECT r, k FROM dwd_customer_match_key WHERE k IS NOT NULL
), kl2 AS (
  SELECT keys.k, MIN(c.label) AS label FROM keys JOIN dwd_customer_cluster c ON c.r = keys.r GROUP BY keys.k
), l3 AS (
  SELECT keys.r, MIN(kl2.label) AS label FROM keys JOIN kl2 ON kl2.k = keys.k GROUP BY keys.r
), kl3 AS (
  SELECT keys.k, MIN(l3.label) AS label FROM keys JOIN l3 ON l3.r = keys.r GROUP BY keys.k
), l4 AS (
  SELECT keys.r, MIN(kl3.label) AS label FROM keys JOIN kl3 ON kl3.k = keys.k GROUP BY keys.r
), recs AS (
  SELECT DISTINCT r, source_system, source_customer_id FROM dwd_customer_match_key
)
SELECT recs.source_system,
       recs.source_customer_id,
       'CU' || upper(substr(md5(COALESCE(l4.label, recs.r)), 1, 12)) AS customer_id
FROM recs
LEFT JOIN l4 ON l4.r = recs.r
