-- Identity resolution (DOMAIN.md, "Identity resolution"): the facts of resolve_identity over
-- every record's match keys and the data steward's overrides (seed_identity_overrides). Records
-- linked through any chain of shared keys are one customer (a union-find, so chains of any
-- length); placeholder and junk keys, and keys shared by too many records that disagree
-- otherwise, are refused; must_link pairs are joined first, cannot_link pairs are kept apart by
-- skipping the weakest links. One row per fact:
--   member:   r and its label, the anchor record of its customer (the first in anchor_order:
--             landed first, created first, then the smallest r), so a
--             customer keeps its id while its anchor exists and a record that lands later
--             never takes the id over;
--   link:     k joined r to other_r (every merge, explained);
--   refused:  k was not used for linking; records holding it and the reason (an override
--             with a rule other than must_link/cannot_link, naming a record that has not
--             landed, or the same record twice, is refused too);
--   accepted: k is held by more records than identity.max_records_per_key, which agree, so it
--             links them (r is one of them);
--   split:    k would have joined r and other_r against a cannot_link;
--   conflict: the cannot_link of r and other_r could not be honoured (must_links join them).
WITH recs AS (
  SELECT DISTINCT r, source_system, source_customer_id, anchor_order FROM dwd_customer_match_key
), overrides AS (
  -- Rules and systems as a steward may type them (`Must_Link`, ` CRM`); ids trimmed.
  SELECT lower(trim(rule)) AS rel,
         'o:' || COALESCE(lower(trim(rule)), '?') || ':' || COALESCE(lower(trim(left_system)), '?')
           || ':' || COALESCE(trim(left_id), '?') || '|' || COALESCE(lower(trim(right_system)), '?')
           || ':' || COALESCE(trim(right_id), '?') AS k,
         lower(trim(left_system)) AS left_system, trim(left_id) AS left_id,
         lower(trim(right_system)) AS right_system, trim(right_id) AS right_id
  FROM seed_identity_overrides
), checked AS (
  -- An override is used when both of its records have landed and they are two records.
  SELECT o.*, l.r AS left_r, rr.r AS right_r, l.anchor_order AS left_order,
         rr.anchor_order AS right_order,
         COALESCE(o.rel IN ('must_link', 'cannot_link') AND l.r IS NOT NULL AND rr.r IS NOT NULL
                  AND l.r <> rr.r, false) AS usable
  FROM overrides o
  LEFT JOIN recs l ON l.source_system = o.left_system AND l.source_customer_id = o.left_id
  LEFT JOIN recs rr ON rr.source_system = o.right_system AND rr.source_customer_id = o.right_id
), pairs AS (
  SELECT r, k, 'key' AS rel, anchor_order FROM dwd_customer_match_key WHERE k IS NOT NULL
  UNION ALL
  SELECT left_r, k, rel, left_order FROM checked WHERE usable
  UNION ALL
  SELECT right_r, k, rel, right_order FROM checked WHERE usable
), resolved AS (
  SELECT resolve_identity(r, k, rel, anchor_order) AS facts FROM pairs
), facts AS (
  SELECT unnest(facts) AS f FROM resolved
)
SELECT f['kind'] AS kind, f['record'] AS r, f['label'] AS label, f['key'] AS k,
       f['other'] AS other_r, f['records'] AS records, f['reason'] AS reason
FROM facts
UNION ALL
SELECT 'refused', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), k, CAST(NULL AS VARCHAR),
       CASE WHEN left_r = right_r THEN 1
            ELSE CAST((left_r IS NOT NULL) AS BIGINT) + CAST((right_r IS NOT NULL) AS BIGINT) END,
       CASE WHEN rel IS NULL OR rel NOT IN ('must_link', 'cannot_link') THEN 'override_invalid_rule'
            WHEN left_r IS NULL OR right_r IS NULL THEN 'override_unknown_record'
            ELSE 'override_same_record' END
FROM checked
WHERE NOT usable
