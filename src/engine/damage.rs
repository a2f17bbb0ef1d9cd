//! Finding the damaged file behind a stage's decoding error.
//!
//! The query engine reports a broken data page ("Page CRC checksum mismatch", an impossible
//! page type, invalid UTF-8) without saying which file it was reading. When a stage fails that
//! way, the run decodes every landed Parquet file of the stage's sources again, one column
//! chunk at a time, and names the first file that fails: its source, path, row group and
//! column. This costs a second read of the stage's source files, and only on the failure path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use datafusion::parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::ParquetMetaData;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};

use super::sources::ResolvedSources;
use crate::error::StrataError;

/// How long the search may take before the stage's own error is reported as it is.
const BUDGET: Duration = Duration::from_secs(120);

/// A landed file that cannot be decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    pub source_name: String,
    /// The path as the user knows it.
    pub path: String,
    /// Where in the file and what: "row group 0, column `amount`: Page CRC checksum mismatch".
    pub detail: String,
    /// Further files of the stage's sources that failed too.
    pub more: usize,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "source `{}`: file `{}` is damaged: {}",
            self.source_name, self.path, self.detail
        )?;
        match self.more {
            0 => Ok(()),
            1 => write!(f, " (1 more file of the stage's sources is damaged)"),
            n => write!(f, " ({n} more files of the stage's sources are damaged)"),
        }
    }
}

/// Whether a stage error may come from a damaged input file: a Parquet decoding error anywhere
/// in its chain, or a panic inside the engine.
pub fn from_input(e: &StrataError) -> bool {
    match e {
        StrataError::Stage { source, .. } => is_decoding(source),
        StrataError::StagePanic { .. } => true,
        _ => false,
    }
}

fn is_decoding(e: &DataFusionError) -> bool {
    let mut level: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = level {
        if err.downcast_ref::<ParquetError>().is_some()
            || matches!(
                err.downcast_ref::<DataFusionError>(),
                Some(DataFusionError::ParquetError(_))
            )
            || matches!(
                err.downcast_ref::<ArrowError>(),
                Some(ArrowError::ParquetError(_))
            )
        {
            return true;
        }
        level = err.source();
    }
    false
}

/// Decode every Parquet file the run resolved for `sources` (in path order) and return the
/// first that fails, if any fails within the time budget.
pub async fn locate(resolved: &ResolvedSources, sources: &[&str]) -> Option<Damage> {
    let started = Instant::now();
    let mut found: Option<Damage> = None;
    for name in sources {
        let Some(source) = resolved.get(name) else {
            continue;
        };
        for file in &source.files {
            let (path, size) = (&file.landed.path, &file.landed.size);
            let left = BUDGET.saturating_sub(started.elapsed());
            if left.is_zero() {
                return found;
            }
            let checked = tokio::time::timeout(
                left,
                std::panic::AssertUnwindSafe(decode_file(
                    &source.store,
                    path,
                    *size,
                    file.metadata.clone(),
                ))
                .catch_unwind(),
            )
            .await;
            let detail = match checked {
                Err(_) => return found,
                Ok(Ok(Ok(()))) => continue,
                Ok(Ok(Err(detail))) => detail,
                Ok(Err(panic)) => {
                    format!("decoding panicked: {}", super::stage::panic_message(&panic))
                }
            };
            match &mut found {
                Some(first) => first.more += 1,
                None => {
                    found = Some(Damage {
                        source_name: name.to_string(),
                        path: file.landed.display.clone(),
                        detail,
                        more: 0,
                    });
                }
            }
        }
    }
    found
}

/// Decode one file completely, one column chunk at a time, so a failure names its place.
async fn decode_file(
    store: &Arc<dyn ObjectStore>,
    path: &ObjPath,
    size: u64,
    resolved: Option<Arc<ParquetMetaData>>,
) -> Result<(), String> {
    // The footer as resolution read it; read again only for a file resolution did not decode.
    let meta = match resolved {
        Some(meta) => meta,
        None => super::preflight::read_metadata(store, path, size)
            .await
            .map_err(|e| format!("footer: {e}"))?,
    };
    let arrow = ArrowReaderMetadata::try_new(meta.clone(), ArrowReaderOptions::new())
        .map_err(|e| format!("footer: {e}"))?;
    let columns = meta.file_metadata().schema_descr();
    for (rg, group) in meta.row_groups().iter().enumerate() {
        for leaf in 0..columns.num_columns() {
            let place = format!(
                "row group {rg}, column `{}`",
                columns.column(leaf).path().string()
            );
            let file = StoreFile {
                store: store.clone(),
                path: path.clone(),
                meta: meta.clone(),
            };
            let mut stream =
                ParquetRecordBatchStreamBuilder::new_with_metadata(file, arrow.clone())
                    .with_row_groups(vec![rg])
                    .with_projection(ProjectionMask::leaves(columns, [leaf]))
                    .build()
                    .map_err(|e| format!("{place}: {}", plain(&e)))?;
            let mut rows = 0i64;
            while let Some(batch) = stream.next().await {
                rows += batch
                    .map_err(|e| format!("{place}: {}", plain(&e)))?
                    .num_rows() as i64;
            }
            if rows != group.num_rows() {
                return Err(format!(
                    "{place}: holds {rows} values, but the row group has {} rows",
                    group.num_rows()
                ));
            }
        }
    }
    Ok(())
}

/// An error's text without the wrappers the Arrow and Parquet crates put around one another
/// ("Arrow: Parquet argument error: Parquet error: ...").
fn plain(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    let mut rest = text.as_str();
    while let Some(inner) = ["Arrow: ", "Parquet argument error: ", "Parquet error: "]
        .iter()
        .find_map(|p| rest.strip_prefix(p))
    {
        rest = inner;
    }
    rest.to_string()
}

/// Byte ranges of one stored file, with its already decoded metadata.
pub(crate) struct StoreFile {
    pub store: Arc<dyn ObjectStore>,
    pub path: ObjPath,
    pub meta: Arc<ParquetMetaData>,
}

impl AsyncFileReader for StoreFile {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, datafusion::parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, datafusion::parquet::errors::Result<Arc<ParquetMetaData>>> {
        let meta = self.meta.clone();
        async move { Ok(meta) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_errors_are_told_from_others() {
        let crc = DataFusionError::ArrowError(
            Box::new(ArrowError::ParquetError(
                "Parquet error: Page CRC checksum mismatch".into(),
            )),
            None,
        )
        .context("while reading");
        assert!(is_decoding(&crc));
        let page = DataFusionError::ParquetError(Box::new(ParquetError::General(
            "Unexpected PageType 9".into(),
        )));
        assert!(is_decoding(&page));
        assert!(!is_decoding(&DataFusionError::ResourcesExhausted(
            "Failed to allocate".into()
        )));
        assert!(!is_decoding(&DataFusionError::ArrowError(
            Box::new(ArrowError::CastError("cannot cast".into())),
            None
        )));
    }

    #[test]
    fn plain_drops_nested_crate_prefixes() {
        let e = ParquetError::ArrowError(
            "Parquet argument error: Parquet error: Page CRC checksum mismatch".into(),
        );
        assert_eq!(plain(&e), "Page CRC checksum mismatch");
        assert_eq!(plain(&"Arrow: plain text"), "plain text");
    }
}
