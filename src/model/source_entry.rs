//! One entry of the pipeline's `sources` list: where the landed files are and how to read them
//! (format, partitions, columns, keys, the zone of naive timestamps, the CSV encoding, checks).

use super::loader::{name_of, read_columns};
use super::reader::Cx;
use super::yaml::{Node, Value};
use super::{Source, SourceFormat};
use crate::diag::ProblemKind;

const SOURCE_KEYS: &[&str] = &[
    "name",
    "location",
    "format",
    "partitions",
    "columns",
    "optional",
    "key",
    "naive_timestamps",
    "encoding",
    "checks",
    "description",
];
pub(super) fn read_source(cx: &mut Cx, node: &Node) -> Option<Source> {
    let map = cx.map(node, "sources[]", "a source", SOURCE_KEYS)?;
    let name = name_of(cx, &map);
    let location_node = map.required(cx, "location");
    let location = location_node.and_then(|n| cx.string("location", n));
    let format = match map.get("format") {
        None => Some(SourceFormat::Parquet),
        Some(n) => cx.string("format", n).and_then(|f| match f.as_str() {
            "parquet" => Some(SourceFormat::Parquet),
            "csv" => Some(SourceFormat::Csv),
            _ => {
                cx.at(
                    n,
                    ProblemKind::InvalidValue {
                        key: "format".into(),
                        value: f,
                        reason: "expected `parquet` or `csv`".into(),
                    },
                );
                None
            }
        }),
    };
    let partitions = map
        .get("partitions")
        .map(|n| read_columns(cx, "partitions", n, None))
        .unwrap_or_else(|| Some(Vec::new()));
    let mut column_docs = Vec::new();
    let columns = match map.get("columns") {
        Some(n) => read_columns(cx, "columns", n, Some(&mut column_docs)).map(Some),
        None => Some(None),
    };
    let optional = match map.get("optional") {
        None => Some(false),
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => Some(*b),
        Some(n) => {
            cx.wrong_type("optional", n, "true or false");
            None
        }
    };
    let description = map.opt_string(cx, "description");
    let key: Vec<String> = map
        .get("key")
        .map(|n| cx.strings("key", n).into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    let naive_timestamps = match map.get("naive_timestamps") {
        None => Some(None),
        Some(n) => cx
            .string("naive_timestamps", n)
            .and_then(|tz| match tz.parse() {
                Ok(tz) => Some(Some(tz)),
                Err(_) => {
                    cx.at(
                        n,
                        ProblemKind::InvalidValue {
                            key: "naive_timestamps".into(),
                            value: tz,
                            reason: "not an IANA time zone name such as Asia/Shanghai or UTC"
                                .into(),
                        },
                    );
                    None
                }
            }),
    };
    let encoding = match map.get("encoding") {
        None => Some(encoding_rs::UTF_8),
        Some(n) => cx.string("encoding", n).and_then(|label| {
            let found = encoding_rs::Encoding::for_label(label.trim().as_bytes());
            let csv = format == Some(SourceFormat::Csv);
            match found {
                Some(e) if csv => Some(e),
                _ => {
                    let reason = if csv {
                        "not a known encoding label (utf-8, gbk, gb18030, big5, shift_jis, ...)"
                    } else {
                        "`encoding` applies to csv sources only; Parquet text is always UTF-8"
                    };
                    cx.at(
                        n,
                        ProblemKind::InvalidValue {
                            key: "encoding".into(),
                            value: label,
                            reason: reason.into(),
                        },
                    );
                    None
                }
            }
        }),
    };
    let checks = match map.get("checks") {
        Some(n) => super::checks::read_checks(cx, n),
        None => Some(Vec::new()),
    };
    if let (Some(declared), Some(n)) = (&columns, map.get("key")) {
        let declared: Vec<&str> = declared.iter().flatten().map(|(c, _)| c.as_str()).collect();
        for k in key
            .iter()
            .filter(|k| !declared.is_empty() && !declared.contains(&k.as_str()))
        {
            cx.at(
                n,
                ProblemKind::InvalidValue {
                    key: "key".into(),
                    value: k.clone(),
                    reason: format!("not a declared column (declared: {})", declared.join(", ")),
                },
            );
        }
    }
    let complete = location.is_some()
        && partitions.is_some()
        && columns.is_some()
        && optional.is_some()
        && naive_timestamps.is_some()
        && encoding.is_some()
        && checks.is_some();
    if let (Some(n), false) = (&name, complete) {
        cx.broken.push(n.clone());
    }
    let location_node = location_node?;
    Some(Source {
        name: name?,
        format: format?,
        location: location?,
        location_at: cx.loc(location_node.line, location_node.column),
        partitions: partitions?,
        columns: columns?,
        column_docs,
        optional: optional?,
        key,
        naive_timestamps: naive_timestamps?,
        encoding: encoding?,
        checks: checks?,
        description,
        at: cx.loc(node.line, node.column),
    })
}
