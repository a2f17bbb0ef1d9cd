//! Wall-clock timestamps read in a zone (`naive_timestamps`) must name one instant each.
//!
//! Where a zone moves its clocks, some wall-clock times happen twice (the hour after a
//! fall-back) and some never (the hour skipped in spring). Such a value names no single
//! instant, so a file holding one is refused before the run, naming file, column and value,
//! instead of failing a stage mid-run. To stay cheap, a file is only scanned when its column's
//! statistics reach a clock change of the zone (never, for zones without daylight saving time
//! such as Asia/Shanghai), or when it has no statistics.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Timelike};
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema, TimeUnit, TimestampMicrosecondType};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use datafusion::parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use datafusion::parquet::file::metadata::ParquetMetaData;
use futures::StreamExt;
use object_store::ObjectStore;
use object_store::path::Path as ObjPath;

/// A wall-clock value that names no single instant in `zone`.
#[derive(Debug, Clone, PartialEq)]
pub struct BadLocalTime {
    pub value: NaiveDateTime,
    /// "happens twice" or "does not exist".
    pub why: &'static str,
}

/// Whether a file whose column spans `bounds` (None: unknown) may hold a wall-clock time that
/// names no single instant, given the zone's clock `changes` (see [`clock_changes`]).
pub fn may_reach(
    bounds: Option<(NaiveDateTime, NaiveDateTime)>,
    changes: &[NaiveDateTime],
) -> bool {
    match bounds {
        None => true,
        Some((min, max)) => changes
            .iter()
            .any(|c| *c >= min - Duration::days(1) && *c <= max + Duration::days(1)),
    }
}

/// Read column `index` (naive timestamps) of a file and find a value that names no single
/// instant in `zone`.
pub(crate) async fn scan(
    store: &Arc<dyn ObjectStore>,
    path: &ObjPath,
    metadata: &Arc<ParquetMetaData>,
    index: usize,
    zone: Tz,
) -> Result<(), BadLocalTime> {
    let Ok(arrow) = ArrowReaderMetadata::try_new(metadata.clone(), ArrowReaderOptions::new())
    else {
        return Ok(()); // the footer was decoded at preflight; the engine will report it
    };
    let mask = ProjectionMask::roots(metadata.file_metadata().schema_descr(), [index]);
    let file = super::damage::StoreFile {
        store: store.clone(),
        path: path.clone(),
        meta: metadata.clone(),
    };
    let Ok(stream) = ParquetRecordBatchStreamBuilder::new_with_metadata(file, arrow)
        .with_projection(mask)
        .build()
    else {
        return Ok(());
    };
    let mut stream = stream;
    while let Some(Ok(batch)) = stream.next().await {
        let Ok(micros) = cast(
            batch.column(0),
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        ) else {
            continue;
        };
        let micros = micros.as_primitive::<TimestampMicrosecondType>();
        for i in 0..micros.len() {
            if micros.is_null(i) {
                continue;
            }
            let Some(value) = DateTime::from_timestamp_micros(micros.value(i)) else {
                continue;
            };
            if let Some(why) = naming(zone, value.naive_utc()) {
                return Err(BadLocalTime {
                    value: value.naive_utc(),
                    why,
                });
            }
        }
    }
    Ok(())
}

/// Why a wall-clock time names no single instant in `zone`, if it does not.
pub fn naming(zone: Tz, local: NaiveDateTime) -> Option<&'static str> {
    match zone.from_local_datetime(&local) {
        chrono::LocalResult::Single(_) => None,
        chrono::LocalResult::Ambiguous(..) => Some("happens twice (the clocks go back)"),
        chrono::LocalResult::None => Some("does not exist (the clocks skip it)"),
    }
}

/// The column's smallest and largest values from the footer statistics, as wall-clock times.
pub fn bounds(
    metadata: &ParquetMetaData,
    physical: &Schema,
    index: usize,
) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let field = physical.field(index);
    let converter = StatisticsConverter::try_new(
        field.name(),
        physical,
        metadata.file_metadata().schema_descr(),
    )
    .ok()?;
    let groups = metadata.row_groups();
    let to_micros =
        |a: Arc<dyn Array>| cast(&a, &DataType::Timestamp(TimeUnit::Microsecond, None)).ok();
    let mins = to_micros(converter.row_group_mins(groups.iter()).ok()?)?;
    let maxs = to_micros(converter.row_group_maxes(groups.iter()).ok()?)?;
    let (mins, maxs) = (
        mins.as_primitive::<TimestampMicrosecondType>(),
        maxs.as_primitive::<TimestampMicrosecondType>(),
    );
    if mins.null_count() > 0 || maxs.null_count() > 0 || mins.is_empty() {
        return None;
    }
    let min = mins.iter().flatten().min()?;
    let max = maxs.iter().flatten().max()?;
    Some((
        DateTime::from_timestamp_micros(min)?.naive_utc(),
        DateTime::from_timestamp_micros(max)?.naive_utc(),
    ))
}

/// UTC instants in about [min - 1 day, max + 1 day] where `zone`'s offset changes.
pub fn clock_changes(zone: Tz, min: NaiveDateTime, max: NaiveDateTime) -> Vec<NaiveDateTime> {
    let offset = |t: NaiveDateTime| zone.offset_from_utc_datetime(&t).fix().local_minus_utc();
    let mut out = Vec::new();
    // Whole hours, so that halving lands on whole seconds.
    let start = min - Duration::days(1);
    let mut t = start
        .date()
        .and_hms_opt(start.time().hour(), 0, 0)
        .unwrap_or(start);
    let end = max + Duration::days(1);
    while t < end {
        let next = t + Duration::hours(6);
        if offset(t) != offset(next) {
            // Narrow to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + Duration::seconds((hi - lo).num_seconds() / 2);
                if offset(mid) == offset(lo) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(hi);
        }
        t = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn shanghai_has_no_clock_changes_now() {
        let z: Tz = "Asia/Shanghai".parse().unwrap();
        assert!(clock_changes(z, at("2020-01-01 00:00"), at("2026-12-31 00:00")).is_empty());
    }

    #[test]
    fn new_york_falls_back_and_springs_forward() {
        let z: Tz = "America/New_York".parse().unwrap();
        // 2026: clocks go forward on 8 March at 07:00 UTC, back on 1 November at 06:00 UTC.
        assert_eq!(
            clock_changes(z, at("2026-01-01 00:00"), at("2026-12-31 00:00")),
            vec![at("2026-03-08 07:00"), at("2026-11-01 06:00")]
        );
        assert_eq!(
            naming(z, at("2026-11-01 01:30")),
            Some("happens twice (the clocks go back)")
        );
        assert_eq!(
            naming(z, at("2026-03-08 02:30")),
            Some("does not exist (the clocks skip it)")
        );
        assert_eq!(naming(z, at("2026-11-01 03:30")), None);
    }
}
