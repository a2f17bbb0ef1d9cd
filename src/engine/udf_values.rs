//! Scalar functions that read values as people typed them: keys that may be blank, and survey
//! scores (DOMAIN.md, acceptance rules 1 and 2).
//!
//! | function | result |
//! |---|---|
//! | `nonblank(text)` | `text` unchanged, or NULL when it is NULL, empty or only whitespace (any Unicode `White_Space` character) |
//! | `is_person_name(text, display)` | whether a name is a person's rather than a company's (`张伟`, `王先生`, `Mr Smith`); `display` is true for a display-name field (a shop nickname), false for a company-name field; NULL text is not a person's. Rules: [`crate::engine::identity::person`] |
//! | `normalize_label(text)` | a code typed by people (a plan, a tier, a status): NFKC (full-width `Ｂ` is `B`), zero-width characters and the byte order mark dropped, trimmed of Unicode whitespace, upper case; NULL when blank |
//! | `parse_score(text)` | the integer a survey score was typed as: the text NFKC-normalized (full-width `９` is `9`), trimmed of Unicode whitespace, must be ASCII digits with an optional leading `+`; NULL otherwise (`'4.0'`, `'N/A'`, `'-1'`, `''`). The range (0..10 NPS, 1..5 CSAT) is checked in SQL |
//!
//! The pure functions [`nonblank`] and [`parse_score`] are what the UDFs run, row by row.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int32Array, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use unicode_normalization::UnicodeNormalization;

/// `text` unless it is empty or only whitespace (`char::is_whitespace`: the Unicode
/// `White_Space` property, so NBSP and the ideographic space U+3000 count).
pub fn nonblank(text: &str) -> Option<&str> {
    if text.chars().all(char::is_whitespace) {
        None
    } else {
        Some(text)
    }
}

/// `normalize_label(text)`: NFKC, invisible characters (zero-width spaces, the byte order mark)
/// dropped, trimmed of Unicode whitespace, upper case; `None` when nothing is left.
pub fn normalize_label(text: &str) -> Option<String> {
    let folded: String = text
        .nfkc()
        .filter(|c| !super::normalize::is_invisible(*c))
        .collect();
    let trimmed = folded.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_uppercase())
}

/// The integer a survey score was typed as, per DOMAIN.md: NFKC, then trim Unicode whitespace,
/// then an optional `+` and ASCII digits. Values beyond `i32` are not scores (NULL).
pub fn parse_score(text: &str) -> Option<i32> {
    let normalized: String = text.nfkc().collect();
    let trimmed = normalized.trim_matches(char::is_whitespace);
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `parse_score(text)`: a string in, an `INT` out.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseScore {
    signature: Signature,
}

impl ParseScore {
    pub fn new() -> Self {
        Self {
            signature: Signature::string(1, Volatility::Immutable),
        }
    }
}

impl Default for ParseScore {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ParseScore {
    fn name(&self) -> &str {
        "parse_score"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Int32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("parse_score takes one argument");
        };
        let array = arg.to_array(args.number_rows)?;
        let strings = cast(&array, &DataType::Utf8)?;
        let strings = strings
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8 yields a StringArray");
        let scores: Int32Array = strings.iter().map(|v| v.and_then(parse_score)).collect();
        let out: ArrayRef = Arc::new(scores);
        match arg {
            ColumnarValue::Scalar(_) => {
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
            }
            ColumnarValue::Array(_) => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// `is_person_name(text, display)`: a string and a boolean in, a boolean out.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct IsPersonName {
    signature: Signature,
}

impl IsPersonName {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for IsPersonName {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for IsPersonName {
    fn name(&self) -> &str {
        "is_person_name"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Boolean)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [text, display] = args.args.as_slice() else {
            return exec_err!(
                "is_person_name takes two arguments: a name and whether it is a display name"
            );
        };
        let n = args.number_rows;
        let texts = cast(&text.to_array(n)?, &DataType::Utf8)?;
        let texts = texts
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("cast to Utf8 yields a StringArray");
        let flags = cast(&display.to_array(n)?, &DataType::Boolean)?;
        let flags = flags
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("cast to Boolean yields a BooleanArray");
        let out: BooleanArray = texts
            .iter()
            .zip(flags.iter())
            .map(|(t, d)| {
                Some(t.is_some_and(|t| {
                    crate::engine::identity::person::is_person_name(t, d.unwrap_or(false))
                }))
            })
            .collect();
        let out: ArrayRef = Arc::new(out);
        match (text, display) {
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_)) => {
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
            }
            _ => Ok(ColumnarValue::Array(out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_keys_are_missing() {
        assert_eq!(nonblank(""), None);
        assert_eq!(nonblank("   "), None);
        assert_eq!(nonblank("\u{a0}\u{3000}\t\u{2003}"), None);
        assert_eq!(nonblank(" O1 "), Some(" O1 "));
        // U+200B ZERO WIDTH SPACE is not White_Space: the key is not blank.
        assert_eq!(nonblank("\u{200b}"), Some("\u{200b}"));
    }

    #[test]
    fn labels_as_typed() {
        for (text, want) in [
            ("B", Some("B")),
            ("b\t", Some("B")),
            ("B\u{a0}", Some("B")),
            ("\u{ff22}", Some("B")),
            ("B\u{3000}", Some("B")),
            ("\u{feff}B", Some("B")),
            ("B\u{200b}", Some("B")),
            (" plan a ", Some("PLAN A")),
            ("\u{3000} ", None),
            ("", None),
        ] {
            assert_eq!(normalize_label(text).as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn scores_as_typed() {
        for (text, want) in [
            ("9", Some(9)),
            (" 9", Some(9)),
            ("\u{ff19}", Some(9)),
            (" 9\u{a0}", Some(9)),
            ("+9", Some(9)),
            ("\u{3000}\u{ff11}\u{ff10}", Some(10)),
            ("\u{ff0b}7", Some(7)),
            ("07", Some(7)),
            ("0", Some(0)),
            ("11", Some(11)),
            ("4.0", None),
            ("N/A", None),
            ("-1", None),
            ("", None),
            ("  ", None),
            ("+", None),
            ("++9", None),
            ("9 9", None),
            ("99999999999", None),
        ] {
            assert_eq!(parse_score(text), want, "{text:?}");
        }
    }
}
