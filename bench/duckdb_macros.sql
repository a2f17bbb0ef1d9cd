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
