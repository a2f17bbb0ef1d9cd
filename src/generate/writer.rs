//! Parquet output: one file per table and landing day, zstd(1), hive directory `ds=YYYY-MM-DD`.
//!
//! Files depend only on their rows (no clock, no host names), so output is byte-identical for
//! a seed. Landing days are written by worker threads (round robin); each worker keeps its own
//! tally and the tallies are summed at the end.

use std::fs::File;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_writer::ArrowWriterOptions;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};

use super::calendar::date_of;
use super::rows::{DayRows, Table};
use super::{GenerateError, TableOutcome};

/// Rows, files and bytes written per ODS table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tally {
    counts: [(u64, u64, u64); Table::ALL.len()],
}

impl Tally {
    fn add(&mut self, table: Table, rows: u64, bytes: u64) {
        let slot = &mut self.counts[table as usize];
        slot.0 += rows;
        slot.1 += 1;
        slot.2 += bytes;
    }

    /// Sum of two tallies.
    pub fn merge(mut self, other: &Tally) -> Tally {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            a.0 += b.0;
            a.1 += b.1;
            a.2 += b.2;
        }
        self
    }

    /// One outcome per ODS table, in table order.
    pub fn outcomes(&self) -> Vec<TableOutcome> {
        Table::ALL
            .iter()
            .map(|t| {
                let (rows, files, bytes) = self.counts[*t as usize];
                TableOutcome {
                    table: t.name().to_string(),
                    rows,
                    files,
                    bytes,
                }
            })
            .collect()
    }
}

/// Write one batch to `path` as Parquet (zstd level 1); returns the file size.
///
/// Daily partitions are small, so per-file overhead matters: statistics are kept per column
/// chunk (no page index) and the Arrow schema is not embedded, as the Parquet logical types
/// already read back as the same Arrow types (timestamps adjusted to UTC read as `"UTC"`).
pub(crate) fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<u64, GenerateError> {
    let parquet_err = |source| GenerateError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let level = ZstdLevel::try_new(1).map_err(parquet_err)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .build();
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(true);
    let file = File::create(path).map_err(|source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut writer =
        ArrowWriter::try_new_with_options(file, batch.schema(), options).map_err(parquet_err)?;
    writer.write(batch).map_err(parquet_err)?;
    writer.close().map_err(parquet_err)?;
    let meta = std::fs::metadata(path).map_err(|source| GenerateError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(meta.len())
}

/// The partition directory of a table and landing day.
pub(crate) fn partition_dir(ods_dir: &Path, table: Table, day: i32) -> PathBuf {
    ods_dir
        .join(table.name())
        .join(format!("ds={}", date_of(day).format("%Y-%m-%d")))
}

/// Write every non-empty table of one landing day.
pub(crate) fn write_day(
    ods_dir: &Path,
    day: i32,
    rows: &DayRows,
    tally: &mut Tally,
) -> Result<(), GenerateError> {
    for table in Table::ALL {
        let n = rows.len(table);
        if n == 0 {
            continue;
        }
        let dir = partition_dir(ods_dir, table, day);
        std::fs::create_dir_all(&dir).map_err(|source| GenerateError::Io {
            path: dir.clone(),
            source,
        })?;
        let batch = rows.batch(table).map_err(|source| GenerateError::Arrow {
            table: table.name().to_string(),
            source,
        })?;
        let bytes = write_parquet(&dir.join("part-0.parquet"), &batch)?;
        tally.add(table, n as u64, bytes);
    }
    Ok(())
}

/// Remove the generator's own previous output (the ODS table directories and truth files), so
/// that no stale partition survives a re-run.
pub(crate) fn clear_previous(ods_dir: &Path, truth_dir: &Path) -> Result<(), GenerateError> {
    for table in Table::ALL {
        let dir = ods_dir.join(table.name());
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|source| GenerateError::Io {
                path: dir.clone(),
                source,
            })?;
        }
    }
    for name in ["customer_truth.parquet", "invalid_rows.parquet"] {
        let file = truth_dir.join(name);
        if file.exists() {
            std::fs::remove_file(&file).map_err(|source| GenerateError::Io {
                path: file.clone(),
                source,
            })?;
        }
    }
    Ok(())
}
