//! Checking the landed source files before a run touches anything.
//!
//! For every source the plan reads, list the files landed on or before `ds`, and read each
//! Parquet footer (metadata only; many at once). A run stops here, before any stage runs and
//! before anything is published, when:
//! - a required source has no files, or no `ds=` partition for the run's date;
//! - a file is not readable Parquet (truncated, zero bytes, random bytes, broken footer);
//! - a file's column has a type that does not fit the declared one (or, for sources without
//!   declared columns, the type in the oldest file). New columns and missing columns are fine:
//!   they are ignored and read as NULL.
//!
//! Files are checked in path order, so the same problem is reported whatever order the store
//! lists them in.

use std::sync::Arc;
use std::time::Duration;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::parquet::arrow::parquet_to_arrow_schema;
use datafusion::parquet::errors::ParquetError;
use datafusion::parquet::file::metadata::{
    PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader,
};
use futures::StreamExt;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::error::{Result, StrataError};
use crate::model::{Pipeline, Source, SourceFormat};

/// How long one footer read may take before the file is reported as unreadable.
const FOOTER_TIMEOUT: Duration = Duration::from_secs(20);

/// What is wrong with one landed file.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum FileIssue {
    Unreadable {
        reason: String,
    },
    ColumnType {
        column: String,
        expected: String,
        found: String,
    },
}

impl std::fmt::Display for FileIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileIssue::Unreadable { reason } => write!(f, "not a readable Parquet file: {reason}"),
            FileIssue::ColumnType {
                column,
                expected,
                found,
            } => write!(f, "column `{column}` has type {found}, expected {expected}"),
        }
    }
}

/// The landing date of a file from its `ds=YYYY-MM-DD` path segment, if any.
fn landing_ds(path: &str) -> Option<chrono::NaiveDate> {
    path.split('/')
        .find_map(|seg| seg.strip_prefix("ds="))
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// Check every source in `names` for the run of `ds`. Call after static validation, which has
/// already read the footers of sources without declared columns.
pub async fn check_sources(
    pipeline: &Pipeline,
    names: &[&str],
    ds: chrono::NaiveDate,
) -> Result<()> {
    for name in names {
        let source = pipeline
            .source(name)
            .expect("plan inputs name known sources");
        check_source(pipeline, source, ds).await?;
    }
    Ok(())
}

/// The files of a source landed on or before `ds`, in path order.
pub(crate) struct Landed {
    pub wh: crate::storage::Warehouse,
    pub files: Vec<(ObjPath, u64)>,
}

pub(crate) async fn landed(
    pipeline: &Pipeline,
    source: &Source,
    ds: chrono::NaiveDate,
) -> Result<Landed> {
    let url = super::sources::source_url(pipeline, source)?;
    let wh = crate::storage::Warehouse::open_read_only(
        url.trim_end_matches('/'),
        &pipeline.project_dir,
    )?;
    let ext = match source.format {
        SourceFormat::Parquet => ".parquet",
        SourceFormat::Csv => ".csv",
    };
    let mut files: Vec<(ObjPath, u64)> = wh
        .list(&wh.root)
        .await?
        .into_iter()
        .filter(|m| m.location.as_ref().ends_with(ext))
        .filter(|m| landing_ds(m.location.as_ref()).is_none_or(|d| d <= ds))
        .map(|m| (m.location, m.size))
        .collect();
    if files.is_empty()
        && let Ok(meta) = wh.store.head(&wh.root).await
    {
        // A single-file location (a seed CSV) lists as nothing under itself.
        files.push((wh.root.clone(), meta.size));
    }
    files.sort();
    Ok(Landed { wh, files })
}

/// Footer schemas of Parquet files, in the same order, read many at once.
async fn footers(
    store: Arc<dyn ObjectStore>,
    files: &[(ObjPath, u64)],
) -> Vec<std::result::Result<SchemaRef, String>> {
    futures::stream::iter(files.iter().cloned().map(|(path, size)| {
        let store = store.clone();
        async move { read_footer(store, path, size).await }
    }))
    .buffered(32)
    .collect()
    .await
}

/// The file schema of a source without declared columns: the union of the columns of every
/// file landed on or before `ds`, in path order; all columns nullable. A broken file or a type
/// conflict is reported naming the file.
pub async fn infer_schema(
    pipeline: &Pipeline,
    source: &Source,
    ds: chrono::NaiveDate,
) -> Result<SchemaRef> {
    let landed = landed(pipeline, source, ds).await?;
    if landed.files.is_empty() {
        return Err(StrataError::EmptySource {
            source_name: source.name.clone(),
            location: source.location.clone(),
            ds: ds.to_string(),
        });
    }
    let schemas = footers(landed.wh.store.clone(), &landed.files).await;
    let mut fields: Vec<Field> = Vec::new();
    for ((path, _), schema) in landed.files.iter().zip(schemas) {
        let bad = |issue| StrataError::BadSourceFile {
            source_name: source.name.clone(),
            path: display_file(pipeline, &landed.wh, path),
            issue,
        };
        let schema = schema.map_err(|reason| bad(FileIssue::Unreadable { reason }))?;
        for f in schema.fields() {
            match fields.iter().find(|x| x.name() == f.name()) {
                Some(known) if !compatible(known.data_type(), f.data_type()) => {
                    return Err(bad(FileIssue::ColumnType {
                        column: f.name().clone(),
                        expected: known.data_type().to_string(),
                        found: f.data_type().to_string(),
                    }));
                }
                Some(_) => {}
                None => fields.push(Field::new(f.name(), f.data_type().clone(), true)),
            }
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

async fn check_source(pipeline: &Pipeline, source: &Source, ds: chrono::NaiveDate) -> Result<()> {
    let Landed { wh, files } = landed(pipeline, source, ds).await?;
    let empty_error = || StrataError::EmptySource {
        source_name: source.name.clone(),
        location: source.location.clone(),
        ds: ds.to_string(),
    };
    if files.is_empty() {
        return if source.optional {
            Ok(())
        } else {
            Err(empty_error())
        };
    }
    let partitioned = source.partitions.iter().any(|(n, _)| n == "ds");
    if partitioned && !source.optional {
        let today = files
            .iter()
            .any(|(p, _)| landing_ds(p.as_ref()) == Some(ds));
        if !today {
            return Err(StrataError::MissingPartition {
                source_name: source.name.clone(),
                location: source.location.clone(),
                ds: ds.to_string(),
            });
        }
    }
    if source.format != SourceFormat::Parquet {
        return Ok(());
    }
    let Some(columns) = &source.columns else {
        // Static validation inferred the schema from these very files (same `ds`), reading
        // every footer and reporting broken files and type conflicts; no need to read them again.
        return Ok(());
    };
    let schemas = footers(wh.store.clone(), &files).await;
    for ((path, _), result) in files.iter().zip(schemas) {
        let issue = match result {
            Err(reason) => Some(FileIssue::Unreadable { reason }),
            Ok(schema) => columns.iter().find_map(|(name, want)| {
                let found = schema.field_with_name(name).ok()?.data_type();
                (!compatible(want, found)).then(|| FileIssue::ColumnType {
                    column: name.clone(),
                    expected: want.to_string(),
                    found: found.to_string(),
                })
            }),
        };
        if let Some(issue) = issue {
            return Err(StrataError::BadSourceFile {
                source_name: source.name.clone(),
                path: display_file(pipeline, &wh, path),
                issue,
            });
        }
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
            let base = std::path::absolute(&pipeline.project_dir).unwrap_or_default();
            crate::diag::display_path(&abs, &base).display().to_string()
        }
        None => format!("{}{}", wh.store_url, path),
    }
}

async fn read_footer(
    store: Arc<dyn ObjectStore>,
    path: ObjPath,
    size: u64,
) -> std::result::Result<SchemaRef, String> {
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
) -> std::result::Result<SchemaRef, String> {
    let meta = read_metadata(&store, &path, size).await?;
    let file = meta.file_metadata();
    std::panic::catch_unwind(|| {
        parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
    })
    .map_err(corrupt_footer)?
    .map(Arc::new)
    .map_err(|e| e.to_string())
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

/// Can a file column of type `found` be read as `want` without changing its meaning?
pub fn compatible(want: &DataType, found: &DataType) -> bool {
    use DataType::*;
    let family = |t: &DataType| match t {
        Utf8 | LargeUtf8 | Utf8View => 1,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => 2,
        Float16 | Float32 | Float64 => 3,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => 4,
        Timestamp(..) => 5,
        Date32 | Date64 => 6,
        Boolean => 7,
        Dictionary(_, v) => match v.as_ref() {
            Utf8 | LargeUtf8 | Utf8View => 1,
            _ => 100,
        },
        _ => 100,
    };
    want == found || (family(want) == family(found) && family(want) != 100)
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
