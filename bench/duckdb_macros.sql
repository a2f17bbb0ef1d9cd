-- DuckDB equivalents of the SQL functions strata adds for stage SQL beyond those the yardstick
-- (../shared/bench/duck_pipeline.py) already defines: pass this file as --macros. Each must do
-- the same work as its Rust original in src/engine/udf_values.rs.
--
-- nonblank(text): NULL when the text is NULL, empty or only Unicode White_Space (Rust's
-- char::is_whitespace; the class below is the yardstick's WS), else the text unchanged.
CREATE OR REPLACE MACRO nonblank(t) AS
  CASE WHEN regexp_matches(t, '^[\t\n\x0b\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$') THEN NULL ELSE t END;

-- parse_score(text): the integer a survey score was typed as, else NULL. strata NFKC-normalizes
-- the text; DuckDB has no NFKC, so the macro maps what NFKC would turn into a score character:
-- every code point whose NFKC form is one ASCII digit or '+' (full-width, superscript,
-- subscript, circled, mathematical digits...; generated from Python's unicodedata 14.0.0),
-- and the circled ten (U+2469, NFKC '10'). Characters that NFKC turns into whitespace are
-- themselves White_Space and trimmed as such. Every other code point is invalid in a score
-- whether normalized or not.
CREATE OR REPLACE MACRO _parse_score_trimmed(x) AS
  CASE WHEN regexp_matches(x, '^\+?[0-9]+$') THEN TRY_CAST(x AS INTEGER) END;
CREATE OR REPLACE MACRO parse_score(t) AS _parse_score_trimmed(regexp_replace(
  replace(translate(t, '²³¹⁰⁴⁵⁶⁷⁸⁹⁺₀₁₂₃₄₅₆₇₈₉₊①②③④⑤⑥⑦⑧⑨⓪﬩﹢＋０１２３４５６７８９𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗𝟘𝟙𝟚𝟛𝟜𝟝𝟞𝟟𝟠𝟡𝟢𝟣𝟤𝟥𝟦𝟧𝟨𝟩𝟪𝟫𝟬𝟭𝟮𝟯𝟰𝟱𝟲𝟳𝟴𝟵𝟶𝟷𝟸𝟹𝟺𝟻𝟼𝟽𝟾𝟿🯰🯱🯲🯳🯴🯵🯶🯷🯸🯹', '2310456789+0123456789+1234567890+++0123456789012345678901234567890123456789012345678901234567890123456789'), '⑩', '10'),
  '^[\t\n\x0b\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+|[\t\n\x0b\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]+$', '', 'g'));
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
