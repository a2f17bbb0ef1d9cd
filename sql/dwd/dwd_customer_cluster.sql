-- Identity resolution (DOMAIN.md, "Identity resolution"): the facts of resolve_identity over
-- every record's match keys and the data steward's overrides (seed_identity_overrides). Records
-- linked through any chain of shared keys are one customer (a union-find, so chains of any
-- length); placeholder and junk keys, and keys shared by too many records that disagree
-- otherwise, are refused; must_link pairs are joined first, cannot_link pairs are kept apart by
-- skipping the weakest links. One row per fact:
--   member:   r and its label, the anchor record of its customer (the smallest r: CRM before
--             ERP before shop, then the smallest id), so a customer keeps its id while its
--             anchor exists;
--   link:     k joined r to other_r (every merge, explained);
--   refused:  k was not used for linking; records holding it and the reason;
--   split:    k would have joined r and other_r against a cannot_link;
--   conflict: the cannot_link of r and other_r could not be honoured (must_links join them).
WITH recs AS (
  SELECT DISTINCT r, source_system, source_customer_id FROM dwd_customer_match_key
), overrides AS (
  SELECT lower(trim(rule)) AS rel,
         'o:' || lower(trim(rule)) || ':' || trim(left_system) || ':' || trim(left_id) || '|'
           || trim(right_system) || ':' || trim(right_id) AS k,
         trim(left_system) AS left_system, trim(left_id) AS left_id,
         trim(right_system) AS right_system, trim(right_id) AS right_id
  FROM seed_identity_overrides
), pairs AS (
  SELECT r, k, 'key' AS rel FROM dwd_customer_match_key WHERE k IS NOT NULL
  UNION ALL
  SELECT recs.r, o.k, o.rel FROM overrides o
  JOIN recs ON recs.source_system = o.left_system AND recs.source_customer_id = o.left_id
  UNION ALL
  SELECT recs.r, o.k, o.rel FROM overrides o
  JOIN recs ON recs.source_system = o.right_system AND recs.source_customer_id = o.right_id
), resolved AS (
  SELECT resolve_identity(r, k, rel) AS facts FROM pairs
), facts AS (
  SELECT unnest(facts) AS f FROM resolved
)
SELECT f['kind'] AS kind, f['record'] AS r, f['label'] AS label, f['key'] AS k,
       f['other'] AS other_r, f['records'] AS records, f['reason'] AS reason
FROM facts
