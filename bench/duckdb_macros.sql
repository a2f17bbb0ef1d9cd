-- DuckDB equivalents of strata's SQL functions where they changed after duck_pipeline.py's
-- built-in macros (src/engine/normalize.rs, issue 12). Load with
--   duck_pipeline.py --macros bench/duckdb_macros.sql
-- They replace the script's macros of the same name and reuse its helpers (_fold, _trim_ws,
-- _np_national, _ne). What cannot be a macro is in bench/NOTES.md.

-- normalize_phone: cut the extension (转, 轉, 分机, 分機, ext, x, #: the earliest one and all
-- after it), then the prefix rules. A number after 0086, +86, 00 86 or a bare 86 (more than 11
-- digits) counts as international, so a landline needs no trunk 0 there.
CREATE OR REPLACE MACRO _np_cut(t) AS
  regexp_replace(lower(_fold(t)), '(转|轉|分机|分機|ext|x|#).*$', '');
CREATE OR REPLACE MACRO _np_intl(d, p) AS CASE
  WHEN starts_with(d, '0086') THEN _np_national(substr(d, 5), true)
  WHEN p THEN CASE WHEN starts_with(d, '86') THEN _np_national(substr(d, 3), true) END
  WHEN starts_with(d, '86') AND length(d) > 11 THEN _np_national(substr(d, 3), true)
  ELSE _np_national(d, false) END;
CREATE OR REPLACE MACRO normalize_phone(t) AS _np_intl(
  regexp_replace(_np_cut(t), '[^0-9]', '', 'g'),
  regexp_matches(_np_cut(t), '^[[:space:]]*(\+|00)'));

-- normalize_email: the address inside angle brackets, without quotes, `mailto:` and trailing
-- dots, lower case.
CREATE OR REPLACE MACRO _ne_inner(e) AS
  CASE WHEN strpos(e, '<') > 0 THEN split_part(split_part(e, '<', -1), '>', 1) ELSE e END;
CREATE OR REPLACE MACRO _ne_bare(e) AS rtrim(trim(trim(
  regexp_replace(trim(trim(_ne_inner(e)), '"'''), '^mailto:', '')), '"'''), '.');
CREATE OR REPLACE MACRO normalize_email(t) AS _ne(_ne_bare(lower(_trim_ws(_fold(t)))));
