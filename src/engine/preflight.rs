//! Reading landed Parquet footers, and what can be wrong with a landed file.
//!
//! Footers are read many at once, before any stage runs (see [`super::sources::resolve`]); a
//! file that is not readable Parquet (truncated, zero bytes, random bytes, a broken footer or
//! page index) is refused naming it. Narrowing conversions (an `int64` column declared `int`)
//! are allowed only when the footer's statistics prove every value fits.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::array::Array;
use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{
    PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader,
};
use futures::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};

use super::landing::LandedFile;
use super::reconcile::Refusal;
use crate::model::Pipeline;

/// How long one footer read may take before the file is reported as unreadable.
const FOOTER_TIMEOUT: Duration = Duration::from_secs(20);

/// What is wrong with one landed file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum FileIssue {
    Unreadable {
        reason: String,
    },
    /// Its columns cannot be read as declared.
    Refused {
        refusal: Refusal,
    },
}

impl std::fmt::Display for FileIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileIssue::Unreadable { reason } => write!(f, "not a readable Parquet file: {reason}"),
            FileIssue::Refused { refusal } => refusal.fmt(f),
        }
    }
}

/// Footers (decoded metadata and Arrow schema) of landed files, in the same order.
pub(crate) async fn footers(
    store: Arc<dyn ObjectStore>,
    files: &[LandedFile],
) -> Vec<std::result::Result<(Arc<ParquetMetaData>, SchemaRef), String>> {
    futures::stream::iter(files.iter().map(|f| {
        let store = store.clone();
        let (path, size) = (f.path.clone(), f.size);
        async move { read_footer(store, path, size).await }
    }))
    .buffered(32)
    .collect()
    .await
}

/// Whether the footer's statistics show that column `index` holds no value at all (false when
/// they cannot tell, or the file has no rows).
pub(crate) fn all_null(metadata: &ParquetMetaData, physical: &Schema, index: usize) -> bool {
    let Ok(converter) = StatisticsConverter::try_new(
        physical.field(index).name(),
        physical,
        metadata.file_metadata().schema_descr(),
    ) else {
        return false;
    };
    let groups = metadata.row_groups();
    let Ok(nulls) = converter.row_group_null_counts(groups.iter()) else {
        return false;
    };
    let rows: i64 = groups.iter().map(|g| g.num_rows()).sum();
    rows > 0
        && nulls.null_count() == 0
        && groups
            .iter()
            .enumerate()
            .all(|(i, g)| nulls.value(i) as i64 == g.num_rows())
}

/// Prove from the footer's statistics that every value of file column `index` converts to the
/// declared type without overflow.
pub(crate) fn values_fit(
    metadata: &ParquetMetaData,
    physical: &Schema,
    index: usize,
    declared: &Field,
) -> std::result::Result<(), Refusal> {
    let field = physical.field(index);
    let refuse = |reason: String| Refusal::Lossy {
        column: declared.name().clone(),
        found: field.data_type().to_string(),
        expected: declared.data_type().to_string(),
        reason,
    };
    let converter = StatisticsConverter::try_new(
        field.name(),
        physical,
        metadata.file_metadata().schema_descr(),
    )
    .map_err(|e| refuse(format!("its statistics cannot be read ({e})")))?;
    let groups = metadata.row_groups();
    let mins = converter.row_group_mins(groups.iter());
    let maxs = converter.row_group_maxes(groups.iter());
    let nulls = converter.row_group_null_counts(groups.iter());
    let (Ok(mins), Ok(maxs), Ok(nulls)) = (mins, maxs, nulls) else {
        return Err(refuse("its statistics cannot be read".into()));
    };
    for (i, g) in groups.iter().enumerate() {
        let all_null = !nulls.is_null(i) && nulls.value(i) as i64 == g.num_rows();
        if !all_null && (mins.is_null(i) || maxs.is_null(i)) {
            return Err(refuse(
                "the file has no min/max statistics to prove that every value fits".into(),
            ));
        }
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    for bound in [&mins, &maxs] {
        datafusion::arrow::compute::cast_with_options(bound, declared.data_type(), &strict)
            .map_err(|e| refuse(format!("a value does not fit ({e})")))?;
    }
    Ok(())
}

/// A file path as the user knows it: relative to the project when it lies inside.
pub(crate) fn display_file(
    pipeline: &Pipeline,
    wh: &crate::storage::Warehouse,
    path: &ObjPath,
) -> String {
    match &wh.local_root {
        Some(_) => {
            let abs = std::path::PathBuf::from(format!("/{path}"));
            // The listed paths lie under the canonical source directory (symlinks and `..`
            // resolved, see `Warehouse::open_read_only`); so must the base, or a run started
            // from another directory (`cd sql && strata run ../pipelines/crm.yaml`) names the
            // same files differently and their fingerprints change.
            let base = std::fs::canonicalize(&pipeline.project_dir)
                .or_else(|_| std::path::absolute(&pipeline.project_dir))
                .unwrap_or_default();
            crate::diag::display_path(&abs, &base).display().to_string()
        }
        None => format!("{}{}", wh.store_url, path),
    }
}

async fn read_footer(
    store: Arc<dyn ObjectStore>,
    path: ObjPath,
    size: u64,
) -> std::result::Result<(Arc<ParquetMetaData>, SchemaRef), String> {
    match tokio::time::timeout(FOOTER_TIMEOUT, footer_schema(store, path, size)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "reading the footer took over {}s",
            FOOTER_TIMEOUT.as_secs()
        )),
    }
}

/// Read the Parquet footer from the end of the file (fetching more only when the metadata is
/// larger than the first guess) and return the file's Arrow schema.
async fn footer_schema(
    store: Arc<dyn ObjectStore>,
    path: ObjPath,
    size: u64,
) -> std::result::Result<(Arc<ParquetMetaData>, SchemaRef), String> {
    let meta = read_metadata(&store, &path, size).await?;
    let file = meta.file_metadata();
    let schema = std::panic::catch_unwind(|| {
        parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
    })
    .map_err(corrupt_footer)?
    .map(Arc::new)
    .map_err(|e| e.to_string())?;
    Ok((meta, schema))
}

/// Read and decode a file's Parquet metadata: the footer, and the page index when the file has
/// one (the engine reads it to skip pages, so a broken one must be found here).
pub(crate) async fn read_metadata(
    store: &Arc<dyn ObjectStore>,
    path: &ObjPath,
    size: u64,
) -> std::result::Result<Arc<ParquetMetaData>, String> {
    if size < 12 {
        return Err(format!("{size} bytes is too short for a Parquet file"));
    }
    let mut want = size.min(64 * 1024);
    loop {
        let range = (size - want)..size;
        let bytes = store
            .get_range(path, range)
            .await
            .map_err(|e| e.to_string())?;
        // Decoding a corrupted footer can panic inside the Parquet and Arrow crates (for
        // example an unknown type in the embedded Arrow schema); contain it here.
        let parsed = std::panic::catch_unwind(|| {
            let mut reader =
                ParquetMetaDataReader::new().with_page_index_policy(PageIndexPolicy::Optional);
            reader.try_parse_sized(&bytes, size)?;
            reader.finish()
        })
        .map_err(corrupt_footer)?;
        match parsed {
            Ok(meta) => return Ok(Arc::new(meta)),
            Err(ParquetError::NeedMoreData(n)) if (n as u64) > want && (n as u64) <= size => {
                want = n as u64;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
}

fn corrupt_footer(panic: Box<dyn std::any::Any + Send>) -> String {
    format!(
        "the footer is corrupt ({})",
        super::stage::panic_message(&panic)
    )
}

/// Sources read by a plan.
pub fn sources_of(plan: &crate::plan::Plan) -> Vec<&str> {
    let mut names: Vec<&str> = plan
        .stages
        .iter()
        .flat_map(|s| {
            s.inputs
                .iter()
                .filter(|i| i.is_source)
                .map(|i| i.table.as_str())
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
