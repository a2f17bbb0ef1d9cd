//! Listing a source's landed files the way Hadoop, Spark and Hive do.
//!
//! - A file or directory whose name starts with `_` or `.` is not data (`_SUCCESS`,
//!   `_temporary/`, `.part-0.parquet.crc`, `_committed_123`): it is skipped, and said so in the
//!   run record.
//! - Every other file under the location is data. Partition directories (`ds=2026-11-21/`) come
//!   in the declared order; a value that does not parse as the declared type
//!   (`ds=2026-11-20.bak`) or a data file outside the partition directories is refused, naming
//!   the directory or the file.
//! - Files are returned in path order, so nothing downstream depends on the order in which a
//!   store lists them.

use chrono::NaiveDate;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use object_store::path::Path as ObjPath;

use crate::error::{Result, StrataError};
use crate::model::{Pipeline, Source};
use crate::storage::Warehouse;

/// One landed data file of a source.
#[derive(Debug, Clone)]
pub struct LandedFile {
    pub path: ObjPath,
    /// The path as the user knows it (relative to the project when it lies inside).
    pub display: String,
    pub size: u64,
    /// Last modification time (or the store's equivalent), for provenance.
    pub last_modified: chrono::DateTime<chrono::Utc>,
    /// The partition values, typed, in the declared order.
    pub partition_values: Vec<ScalarValue>,
    /// The landing date, when the source is partitioned by `ds`.
    pub ds: Option<NaiveDate>,
}

/// A file that was listed but is not data.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub display: String,
    /// The hidden name that makes it so (`_SUCCESS`, `_temporary`, `.crc` file).
    pub because: String,
}

/// What listing a source found.
#[derive(Debug)]
pub struct Listing {
    pub wh: Warehouse,
    /// Data files landed on or before the cut-off, in path order.
    pub files: Vec<LandedFile>,
    pub skipped: Vec<Skipped>,
    /// `ds=` directories (relative to the source root) that hold only hidden files.
    pub hollow_partitions: Vec<(NaiveDate, String)>,
    /// Data files in directories below the declared partition directories.
    pub deeper: Vec<String>,
}

/// List `source`, keeping the files landed on or before `cutoff` (all files when `None`).
pub async fn list(
    pipeline: &Pipeline,
    source: &Source,
    url: &str,
    cutoff: Option<NaiveDate>,
) -> Result<Listing> {
    // The source's directory is opened as a read-only store: a refusal is about the source.
    let wh = Warehouse::open_read_only(url.trim_end_matches('/'), &pipeline.project_dir).map_err(
        |e| match e {
            StrataError::InvalidWarehouse { location, reason } => StrataError::InvalidArgument {
                argument: format!("location of source `{}`", source.name),
                value: location,
                reason,
            },
            other => other,
        },
    )?;
    let mut metas = wh.list(&wh.root).await?;
    if metas.is_empty()
        && let Ok(meta) = object_store::ObjectStoreExt::head(wh.store.as_ref(), &wh.root).await
    {
        // A single-file location (a seed CSV) lists as nothing under itself.
        metas.push(meta);
    }
    metas.sort_by(|a, b| a.location.cmp(&b.location));
    let root: Vec<String> = wh.root.parts().map(|p| p.as_ref().to_string()).collect();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut with_data: Vec<NaiveDate> = Vec::new();
    let mut hidden_only: Vec<(NaiveDate, String)> = Vec::new();
    let mut deeper = Vec::new();
    for meta in metas {
        let display = super::preflight::display_file(pipeline, &wh, &meta.location);
        let parts: Vec<String> = meta
            .location
            .parts()
            .map(|p| p.as_ref().to_string())
            .collect();
        let rel: &[String] = parts.strip_prefix(root.as_slice()).unwrap_or(&parts);
        if let Some(hidden) = rel
            .iter()
            .find(|seg| seg.starts_with('_') || seg.starts_with('.'))
        {
            // Remember the `ds=` directory it lies in, to tell "no data file" from "none".
            if let Some(at) = rel.iter().position(|s| s.starts_with("ds="))
                && let Some(ds) = parse_date(&rel[at][3..])
            {
                hidden_only.push((ds, rel[..=at].join("/")));
            }
            skipped.push(Skipped {
                display,
                because: hidden.clone(),
            });
            continue;
        }
        let dirs = if rel.is_empty() {
            &[][..]
        } else {
            &rel[..rel.len() - 1]
        };
        let partition_values = partition_values(pipeline, source, &wh, &meta.location, dirs)?;
        let ds = source
            .partitions
            .iter()
            .position(|(n, _)| n == "ds")
            .and_then(|i| match partition_values[i] {
                ScalarValue::Date32(Some(d)) => {
                    NaiveDate::from_num_days_from_ce_opt(d + EPOCH_DAYS_FROM_CE)
                }
                _ => None,
            });
        if let (Some(cut), Some(d)) = (cutoff, ds)
            && d > cut
        {
            continue;
        }
        if let Some(d) = ds {
            with_data.push(d);
        }
        if dirs.len() > source.partitions.len() {
            deeper.push(display.clone());
        }
        files.push(LandedFile {
            path: meta.location,
            display,
            size: meta.size,
            last_modified: meta.last_modified,
            partition_values,
            ds,
        });
    }
    hidden_only.retain(|(d, _)| !with_data.contains(d) && cutoff.is_none_or(|c| *d <= c));
    hidden_only.sort();
    hidden_only.dedup();
    Ok(Listing {
        wh,
        files,
        skipped,
        hollow_partitions: hidden_only,
        deeper,
    })
}

/// Days from 0001-01-01 (CE day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn parse_date(text: &str) -> Option<NaiveDate> {
    crate::model::types::parse_date(text).ok()
}

/// The typed partition values of a file from its directories, in the declared order.
fn partition_values(
    pipeline: &Pipeline,
    source: &Source,
    wh: &Warehouse,
    file: &ObjPath,
    dirs: &[String],
) -> Result<Vec<ScalarValue>> {
    let mut out = Vec::with_capacity(source.partitions.len());
    for (i, (name, dt)) in source.partitions.iter().enumerate() {
        let segment = dirs.get(i);
        let value = segment
            .and_then(|s| s.split_once('='))
            .filter(|(k, _)| k == name);
        let Some((_, raw)) = value else {
            return Err(StrataError::OutsidePartitions {
                source_name: source.name.clone(),
                path: super::preflight::display_file(pipeline, wh, file),
                expected: format!("{name}=..."),
            });
        };
        // Hive escapes special characters in partition values (`%3A` for `:`).
        let text = unescape(raw);
        let dir = || {
            format!(
                "{}/{}",
                super::preflight::display_file(pipeline, wh, &wh.root),
                dirs[..=i].join("/")
            )
        };
        let parsed = match dt {
            DataType::Date32 => parse_date(&text).map(crate::model::types::date_scalar),
            DataType::Int32 => text
                .parse::<i32>()
                .ok()
                .map(|v| ScalarValue::Int32(Some(v))),
            DataType::Int64 => text
                .parse::<i64>()
                .ok()
                .map(|v| ScalarValue::Int64(Some(v))),
            DataType::Utf8 if text != "__HIVE_DEFAULT_PARTITION__" => {
                Some(ScalarValue::Utf8(Some(text.clone())))
            }
            _ => None,
        };
        match parsed {
            Some(v) => out.push(v),
            None => {
                return Err(StrataError::BadPartition {
                    source_name: source.name.clone(),
                    dir: dir(),
                    column: name.clone(),
                    value: text,
                    expected: crate::model::types::column_type_name(dt),
                });
            }
        }
    }
    Ok(out)
}

/// Undo `%XX` escapes, as Hive writes special characters in partition values. Anything that is
/// not a valid escape stays as it is.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert_eq!(
            parse_date("2026-11-20"),
            NaiveDate::from_ymd_opt(2026, 11, 20)
        );
        assert_eq!(parse_date("2026-11-20.bak"), None);
        assert_eq!(parse_date("2026-1-5"), None);
        assert_eq!(parse_date("2026-02-30"), None);
    }

    #[test]
    fn hive_escapes_are_decoded() {
        assert_eq!(unescape("a%3Ab"), "a:b");
        assert_eq!(unescape("a+b%"), "a+b%");
        assert_eq!(unescape("00%3A00"), "00:00");
    }
}
