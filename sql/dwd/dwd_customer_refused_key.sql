-- The steward's list of match keys that identify nobody and were not used for linking, masked:
-- placeholder phones and e-mails, junk names and default nicknames (built in, extended by the
-- pipeline's identity.placeholders), and keys held by more than identity.max_records_per_key
-- records whose other attributes disagree (shared_by_too_many); a person's name where a company
-- name belongs, held by two or more records (person_name); and the steward's overrides that
-- name a record that has not landed (override_unknown_record: records = how many of the two
-- were found) or the same record twice (override_same_record). An override is shown as its
-- rule and two records, which are ids, not personal data.
SELECT CASE substr(k, 1, 2) WHEN 'p:' THEN 'phone' WHEN 'e:' THEN 'email' WHEN 'o:' THEN 'override'
            ELSE 'name' END AS key_kind,
       CASE substr(k, 1, 2) WHEN 'p:' THEN mask_phone(substr(k, 3))
            WHEN 'e:' THEN mask_email(substr(k, 3))
            WHEN 'o:' THEN substr(k, 3)
            ELSE mask_name(substr(k, 3)) END AS key_masked,
       records,
       reason
FROM dwd_customer_cluster
WHERE kind = 'refused'
