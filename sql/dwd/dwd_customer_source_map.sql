-- Every customer record of the three sources, mapped to one customer_id (the golden record key).
-- dwd_customer_cluster resolved the records into customers (connected components over shared
-- match keys, with junk keys refused and the steward's overrides applied); its label is the
-- customer's anchor record, so a customer keeps its id as long as its anchor record exists.
-- A record without any usable key is a customer of its own.
WITH recs AS (
  SELECT DISTINCT r, source_system, source_customer_id FROM dwd_customer_match_key
), members AS (
  SELECT r, label FROM dwd_customer_cluster WHERE kind = 'member'
)
SELECT recs.source_system,
       recs.source_customer_id,
       'CU' || upper(substr(md5(COALESCE(members.label, recs.r)), 1, 12)) AS customer_id
FROM recs
LEFT JOIN members ON members.r = recs.r
