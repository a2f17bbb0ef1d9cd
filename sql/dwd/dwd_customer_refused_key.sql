-- The steward's list of match keys that were not used for linking, where they would have linked
-- records (a junk value held by one record links nothing and is not listed): placeholder phones
-- and e-mails, junk names and default nicknames (built in, extended by the pipeline's
-- identity.placeholders); a person's name where a company name belongs (person_name); a key held
-- by more than identity.max_records_per_key records, for the holders that disagree with its
-- oldest holder (shared_by_too_many: `records` counts those left out); and the steward's
-- overrides that name a record that has not landed (override_unknown_record: records = how many
-- of the two were found) or the same record twice (override_same_record).
-- Phones, e-mails and person names are masked; a company name and an override (its rule and
-- two records) are not personal data and are shown as they are. `holders`: up to five records
-- holding the key (source_system:source_customer_id), so a steward can look them up.
WITH refused AS (
  SELECT k, records, reason FROM dwd_customer_cluster WHERE kind = 'refused'
), holders AS (
  SELECT m.k, array_to_string(array_slice(array_agg(m.source_system || ':' || m.source_customer_id
                                                    ORDER BY m.source_system, m.source_customer_id),
                                          1, 5), ', ') AS holders
  FROM dwd_customer_match_key m
  WHERE m.k IN (SELECT k FROM refused)
  GROUP BY m.k
)
SELECT CASE substr(r.k, 1, 2) WHEN 'p:' THEN 'phone' WHEN 'e:' THEN 'email' WHEN 'o:' THEN 'override'
            ELSE 'name' END AS key_kind,
       CASE WHEN substr(r.k, 1, 2) = 'p:' THEN mask_phone(substr(r.k, 3))
            WHEN substr(r.k, 1, 2) = 'e:' THEN mask_email(substr(r.k, 3))
            WHEN substr(r.k, 1, 2) = 'h:' THEN mask_name(substr(r.k, 3))
            -- A company name shaped like a phone or an e-mail is masked like one.
            WHEN substr(r.k, 1, 2) = 'n:' AND regexp_like(substr(r.k, 3), '[0-9]{7}|@')
              THEN mask_name(substr(r.k, 3))
            ELSE substr(r.k, 3) END AS key_masked,
       r.records,
       r.reason,
       -- An override's records are in its key: `o:<rule>:<system>:<id>|<system>:<id>`.
       COALESCE(h.holders, replace(regexp_replace(substr(r.k, 3), '^[a-z_]+:', ''), '|', ', '))
         AS holders
FROM refused r
LEFT JOIN holders h ON h.k = r.k
