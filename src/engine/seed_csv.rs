//! CSV seeds: small reference tables (rates, aliases) kept as CSV, often saved by Excel.
//!
//! A seed is decoded once, at resolution, in its declared `encoding` (UTF-8 by default; GBK,
//! GB18030 and every other WHATWG label through `encoding_rs`). A byte sequence that is not
//! valid in that encoding refuses the run before any stage, naming file and line, with a hint
//! when the file decodes cleanly as GB18030 (Excel on a Chinese Windows saves CSV so). A UTF-8
//! byte-order mark is dropped and CRLF line ends are fine. Columns are matched to the header by
//! name, with the same rules as Parquet columns (see [`super::reconcile`]); values are parsed
//! as the declared types, and a value that does not parse is refused naming its line.

use std::io::Cursor;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringArray, new_null_array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::csv::reader::Format;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use encoding_rs::{DecoderResult, Encoding, GB18030, UTF_8};

use super::reconcile::{self, Refusal};
use super::sources::Findings;
use crate::error::{Result, StrataError};
use crate::model::Source;

/// Decode one CSV file of `source` into batches of the declared schema.
pub(crate) fn decode(
    source: &Source,
    display: &str,
    bytes: &[u8],
    declared: &SchemaRef,
    findings: &mut Findings,
) -> Result<Vec<RecordBatch>> {
    let bad = |line: Option<usize>, reason: String, hint: Option<String>| StrataError::BadSeed {
        source_name: source.name.clone(),
        path: display.to_string(),
        line,
        reason,
        hint,
    };
    let text = to_text(bytes, source.encoding)
        .map_err(|(line, reason, hint)| bad(Some(line), reason, hint))?;
    if text.trim().is_empty() {
        return Err(bad(
            None,
            "the file is empty; a header row is needed".into(),
            None,
        ));
    }
    let (header, _) = Format::default()
        .with_header(true)
        .infer_schema(Cursor::new(text.as_bytes()), Some(0))
        .map_err(|e| bad(Some(1), format!("the header row cannot be read: {e}"), None))?;
    // Which header column feeds each declared column.
    let mut sources: Vec<Option<usize>> = Vec::new();
    for f in declared.fields() {
        let is_key = source.key.iter().any(|k| k == f.name());
        let found = reconcile::find_column(f.name(), &header)
            .map_err(|r| bad(Some(1), r.to_string(), Some(r.hint(&source.name))))?;
        match found {
            Some(i) if header.field(i).name() != f.name() => findings.add(
                display,
                Some(f.name().clone()),
                format!("header is `{}`", header.field(i).name()),
                format!("read as `{}`", f.name()),
            ),
            Some(_) => {}
            None if is_key => {
                let r = Refusal::MissingKey {
                    column: f.name().clone(),
                };
                return Err(bad(Some(1), r.to_string(), Some(r.hint(&source.name))));
            }
            None => findings.add(
                display,
                Some(f.name().clone()),
                "column is missing".into(),
                "read as NULL".into(),
            ),
        }
        sources.push(found);
    }
    // Read every column as text, then convert the declared ones, so a value that does not
    // parse is found with its line.
    let reading = Schema::new(
        header
            .fields()
            .iter()
            .map(|h| Field::new(h.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let reader = ReaderBuilder::new(Arc::new(reading))
        .with_header(true)
        .build(Cursor::new(text.as_bytes()))
        .map_err(|e| bad(None, e.to_string(), None))?;
    let mut out = Vec::new();
    let lines = record_lines(&text);
    // Data records before the current batch (record 0 is the header).
    let mut rows_before = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| {
            let message = e.to_string();
            bad(line_of(&message), message, None)
        })?;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(declared.fields().len());
        for (f, s) in declared.fields().iter().zip(&sources) {
            let Some(i) = s else {
                columns.push(new_null_array(f.data_type(), batch.num_rows()));
                continue;
            };
            let text = batch.column(*i).as_string::<i32>();
            match convert(text, f.data_type()) {
                Ok((array, trimmed)) => {
                    if trimmed {
                        findings.add(
                            display,
                            Some(f.name().clone()),
                            "values with surrounding spaces".into(),
                            "spaces trimmed".into(),
                        );
                    }
                    columns.push(array)
                }
                Err((row, reason)) => {
                    let record = rows_before + row + 1;
                    return Err(bad(
                        lines.get(record).copied(),
                        format!(
                            "value `{}` of column `{}` {reason}",
                            text.value(row),
                            f.name(),
                        ),
                        None,
                    ));
                }
            }
        }
        rows_before += batch.num_rows();
        out.push(
            RecordBatch::try_new(declared.clone(), columns)
                .map_err(|e| bad(None, e.to_string(), None))?,
        );
    }
    Ok(out)
}

/// Text values as `to`, surrounding spaces trimmed and blanks NULL; whether any value had
/// spaces to trim. On a value that does not convert exactly, its row and why.
#[allow(clippy::type_complexity)]
fn convert(
    text: &StringArray,
    to: &DataType,
) -> std::result::Result<(ArrayRef, bool), (usize, String)> {
    let trimmed: StringArray = text
        .iter()
        .map(|v| v.map(str::trim).filter(|v| !v.is_empty()))
        .collect();
    let changed = text
        .iter()
        .zip(trimmed.iter())
        .any(|(a, b)| a.is_some_and(|a| Some(a) != b && !a.trim().is_empty()));
    if to == &DataType::Utf8 {
        return Ok((Arc::new(trimmed), changed));
    }
    let not_a = || format!("is not a {}", crate::model::types::column_type_name(to));
    if let DataType::Decimal128(_, scale) = to {
        // Casting text to a decimal rounds extra places; strata refuses them instead.
        for (row, v) in trimmed.iter().enumerate() {
            if let Some(places) = v.and_then(decimal_places)
                && places > *scale as usize
            {
                return Err((
                    row,
                    format!(
                        "has {places} decimal places, more than the declared {scale}; strata does not round"
                    ),
                ));
            }
        }
    }
    let converted = cast(&trimmed, to).map_err(|_| {
        let row = trimmed.iter().position(|v| v.is_some()).unwrap_or(0);
        (row, not_a())
    })?;
    match (0..trimmed.len()).find(|r| trimmed.is_valid(*r) && converted.is_null(*r)) {
        Some(row) => Err((row, not_a())),
        None => Ok((converted, false)),
    }
}

/// Significant decimal places of a plain decimal literal (`7.1230` has 3).
fn decimal_places(text: &str) -> Option<usize> {
    let (_, fraction) = text.split_once('.')?;
    fraction
        .chars()
        .all(|c| c.is_ascii_digit())
        .then(|| fraction.trim_end_matches('0').len())
}

/// The 1-based line on which each record starts (record 0 is the header): blank lines are
/// not records, and a quoted field may span lines.
fn record_lines(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut line, mut in_quotes, mut at_start) = (1usize, false, true);
    for c in text.chars() {
        match c {
            '\n' => {
                line += 1;
                if !in_quotes {
                    at_start = true;
                }
            }
            '\r' => {}
            _ => {
                if at_start && !in_quotes {
                    out.push(line);
                    at_start = false;
                }
                if c == '"' {
                    in_quotes = !in_quotes;
                }
            }
        }
    }
    out
}

/// The line number in an Arrow CSV error ("... at line 5").
fn line_of(message: &str) -> Option<usize> {
    let rest = message.split(" line ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Decode `bytes` as `encoding`; on failure the 1-based line, the reason and maybe a hint.
fn to_text(
    bytes: &[u8],
    encoding: &'static Encoding,
) -> std::result::Result<String, (usize, String, Option<String>)> {
    let line_at = |offset: usize| bytes[..offset].iter().filter(|b| **b == b'\n').count() + 1;
    let bom = bytes.starts_with(&[0xEF, 0xBB, 0xBF]);
    if encoding != UTF_8 && bom {
        return Err((
            1,
            format!(
                "the file starts with a UTF-8 byte-order mark, but the source declares encoding {}",
                encoding.name()
            ),
            Some("remove `encoding` (UTF-8 is the default)".into()),
        ));
    }
    let body = if bom { &bytes[3..] } else { bytes };
    let skipped = bytes.len() - body.len();
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut text = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(body.len())
            .unwrap_or(body.len() * 3),
    );
    let (result, read) = decoder.decode_to_string_without_replacement(body, &mut text, true);
    match result {
        // A byte-order mark of the declared encoding (UTF-16's) is not text either.
        DecoderResult::InputEmpty => Ok(match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        }),
        DecoderResult::Malformed(bad, _) => {
            let at = skipped + read.saturating_sub(bad as usize);
            let looks_gbk = encoding == UTF_8
                && GB18030
                    .decode_without_bom_handling_and_without_replacement(body)
                    .is_some();
            let utf16 = [[0xFF, 0xFE], [0xFE, 0xFF]]
                .iter()
                .any(|b| body.starts_with(b));
            let hint = if utf16 {
                Some("the file starts with a UTF-16 byte-order mark (Excel's \"Unicode Text\"): declare `encoding: utf-16le` (or `utf-16be`) on the source".to_string())
            } else {
                looks_gbk.then(|| {
                    "the file decodes cleanly as GBK/GB18030, as Excel on a Chinese Windows saves CSV: declare `encoding: gbk` on the source".to_string()
                })
            };
            Err((
                line_at(at),
                format!(
                    "byte 0x{:02X} at offset {at} is not valid {}",
                    bytes.get(at).copied().unwrap_or(0),
                    encoding.name()
                ),
                hint,
            ))
        }
        DecoderResult::OutputFull => Err((
            line_at(skipped + read),
            "the decoder ran out of room".into(),
            None,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_bom_and_crlf_decodes() {
        let text = to_text(b"\xEF\xBB\xBFa,b\r\n1,2\r\n", UTF_8).unwrap();
        assert_eq!(text, "a,b\r\n1,2\r\n");
    }

    #[test]
    fn gbk_bytes_in_a_utf8_file_name_their_line_and_hint() {
        // "北京" in GBK is B1 B1 BE A9.
        let bytes = b"alias,canonical\nBJ,\xB1\xB1\xBE\xA9\n";
        let (line, reason, hint) = to_text(bytes, UTF_8).unwrap_err();
        assert_eq!(line, 2);
        assert!(reason.contains("not valid UTF-8"), "{reason}");
        assert!(hint.unwrap().contains("encoding: gbk"));
        let gbk = Encoding::for_label(b"gbk").unwrap();
        assert_eq!(to_text(bytes, gbk).unwrap(), "alias,canonical\nBJ,北京\n");
    }

    #[test]
    fn utf16_from_excel_is_named() {
        let (line, _, hint) = to_text(b"\xFF\xFEa\x00,\x00", UTF_8).unwrap_err();
        assert_eq!(line, 1);
        assert!(hint.unwrap().contains("utf-16le"));
        let utf16 = Encoding::for_label(b"utf-16le").unwrap();
        assert_eq!(to_text(b"a\x00,\x00b\x00", utf16).unwrap(), "a,b");
        assert_eq!(to_text(b"\xFF\xFEa\x00,\x00b\x00", utf16).unwrap(), "a,b");
    }

    #[test]
    fn records_start_on_physical_lines() {
        let text = "a,b\r\n\r\nx,\"multi\nline\"\ny,2\n";
        assert_eq!(record_lines(text), vec![1, 3, 5]);
    }

    #[test]
    fn decimal_places_ignore_trailing_zeros() {
        assert_eq!(decimal_places("7.123456789"), Some(9));
        assert_eq!(decimal_places("7.10000000000"), Some(1));
        assert_eq!(decimal_places("7"), None);
    }

    #[test]
    fn line_numbers_are_read_from_arrow_errors() {
        assert_eq!(
            line_of("Parser error: Error while parsing value 'nan' for column 1 at line 3. Row"),
            Some(3)
        );
        assert_eq!(line_of("no number"), None);
    }
}
