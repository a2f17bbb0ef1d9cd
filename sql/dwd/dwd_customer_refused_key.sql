-- The steward's list of match keys that identify nobody and were not used for linking, masked:
-- placeholder phones and e-mails, junk names and default nicknames (built in, extended by the
-- pipeline's identity.placeholders), and keys held by more than identity.max_records_per_key
-- records that are not connected without them (shared_by_too_many).
SELECT CASE substr(k, 1, 2) WHEN 'p:' THEN 'phone' WHEN 'e:' THEN 'email' ELSE 'name' END AS key_kind,
       CASE substr(k, 1, 2) WHEN 'p:' THEN mask_phone(substr(k, 3))
            WHEN 'e:' THEN mask_email(substr(k, 3))
            ELSE mask_name(substr(k, 3)) END AS key_masked,
       records,
       reason
FROM dwd_customer_cluster
WHERE kind = 'refused'
