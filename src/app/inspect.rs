//! `strata ls`, `strata show`, `strata sql`: looking at what is published.
//!
//! All three read the current release (and the ODS sources), never a pending run's output.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;

use crate::app::{Project, load_project};
use crate::diag::suggest;
use crate::engine::{self, sources, stage_sql_options};
use crate::error::{Result, StrataError};
use crate::model::{Layer, Materialization};
use crate::settings::{Overrides, RunSettings};
use crate::storage::Warehouse;
use crate::storage::release::{ReleasePointer, table_dir};

/// One row of `strata ls`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableEntry {
    pub table: String,
    pub layer: Layer,
    pub materialization: Option<Materialization>,
    /// Where report tools read it.
    pub location: String,
    pub files: u64,
    pub bytes: u64,
    pub partitions: u64,
    pub last_written: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Listing {
    pub release: Option<ReleasePointer>,
    pub tables: Vec<TableEntry>,
}

struct Opened {
    project: Project,
    wh: Warehouse,
    release: Option<ReleasePointer>,
}

async fn open(given: Option<&Path>, overrides: &Overrides) -> Result<Opened> {
    let project = load_project(given)?;
    let settings = RunSettings::resolve(&project.pipeline, overrides)?;
    let wh = Warehouse::open(&settings.warehouse, &project.pipeline.project_dir)?;
    wh.reachable().await?;
    let release = wh.current_release().await?;
    Ok(Opened {
        project,
        wh,
        release,
    })
}

/// `strata ls`: sources and published tables with their locations.
pub async fn ls(given: Option<&Path>, overrides: &Overrides) -> Result<Listing> {
    let o = open(given, overrides).await?;
    let mut tables = Vec::new();
    for source in &o.project.pipeline.sources {
        tables.push(TableEntry {
            table: source.name.clone(),
            layer: Layer::Ods,
            materialization: None,
            location: source.location.clone(),
            files: 0,
            bytes: 0,
            partitions: 0,
            last_written: None,
        });
    }
    for stage in &o.project.pipeline.stages {
        let mut entry = TableEntry {
            table: stage.name.clone(),
            layer: stage.layer,
            materialization: Some(stage.materialization),
            location: reader_location(
                &o.wh,
                o.release.as_ref().map(|r| r.run_id.as_str()),
                stage.layer,
                &stage.name,
            ),
            files: 0,
            bytes: 0,
            partitions: 0,
            last_written: None,
        };
        if let Some(rel) = &o.release {
            let dir = o.wh.path(&table_dir(&rel.run_id, stage.layer, &stage.name));
            let files = o.wh.list(&dir).await?;
            entry.files = files.len() as u64;
            entry.bytes = files.iter().map(|f| f.size).sum();
            entry.last_written = files
                .iter()
                .map(|f| f.last_modified)
                .max()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            if stage.materialization == Materialization::Partitioned {
                entry.partitions = o.wh.child_dirs(&dir).await?.len() as u64;
            }
        }
        tables.push(entry);
    }
    Ok(Listing {
        release: o.release,
        tables,
    })
}

/// Where a report tool reads a table: the stable local path, or on object stores (which have
/// no links) the prefix of the current release `release`, which `_meta/current.json` names.
fn reader_location(wh: &Warehouse, release: Option<&str>, layer: Layer, table: &str) -> String {
    match (&wh.local_root, release) {
        (Some(root), _) => format!("{}/", root.join(layer.as_str()).join(table).display()),
        (None, Some(id)) => format!(
            "{}/{}/{layer}/{table}/",
            wh.display.trim_end_matches('/'),
            crate::storage::release::release_dir(id)
        ),
        (None, None) => "(not published)".into(),
    }
}

/// A query's result for printing.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub batches: Vec<RecordBatch>,
}

/// `strata show TABLE`: the first rows of a published table or a source.
pub async fn show(
    given: Option<&Path>,
    overrides: &Overrides,
    table: &str,
    limit: usize,
) -> Result<QueryResult> {
    let o = open(given, overrides).await?;
    let known: Vec<&str> = o
        .project
        .pipeline
        .sources
        .iter()
        .map(|s| s.name.as_str())
        .chain(o.project.pipeline.stages.iter().map(|s| s.name.as_str()))
        .collect();
    if !known.contains(&table) {
        return Err(StrataError::UnknownTable {
            table: table.to_string(),
            suggestion: suggest(table, known.iter().copied()),
        });
    }
    let (ctx, mut unreadable) = context(&o, overrides).await?;
    if let Some(e) = unreadable.remove(table) {
        return Err(e);
    }
    let df = ctx
        .table(table)
        .await
        .and_then(|df| df.limit(0, Some(limit)))
        .map_err(|source| StrataError::Query { source })?;
    let batches = df
        .collect()
        .await
        .map_err(|source| StrataError::Query { source })?;
    Ok(QueryResult { batches })
}

/// `strata sql "QUERY"`: an ad-hoc, read-only query over every source and published table.
pub async fn sql(given: Option<&Path>, overrides: &Overrides, query: &str) -> Result<QueryResult> {
    let o = open(given, overrides).await?;
    let (ctx, mut unreadable) = context(&o, overrides).await?;
    let df = match ctx.sql_with_options(query, stage_sql_options()).await {
        Ok(df) => df,
        Err(source) => {
            // A query naming a source that cannot be read gets that source's error.
            let text = source.to_string();
            let named = unreadable
                .keys()
                .find(|n| text.contains(&format!("{n}' not found")))
                .cloned();
            return Err(match named.and_then(|n| unreadable.remove(&n)) {
                Some(e) => e,
                None => StrataError::Query { source },
            });
        }
    };
    let batches = df
        .collect()
        .await
        .map_err(|source| StrataError::Query { source })?;
    Ok(QueryResult { batches })
}

/// Sources that could not be read, with their errors.
type Unreadable = std::collections::BTreeMap<String, StrataError>;

/// A session with every source and every published table of the current release registered,
/// and the sources left out because they cannot be read.
async fn context(o: &Opened, overrides: &Overrides) -> Result<(SessionContext, Unreadable)> {
    let settings = RunSettings::resolve(&o.project.pipeline, overrides)?;
    let ctx = engine::session(&settings.engine, Some(&o.wh), &o.project.pipeline)?;
    let mut unreadable = Unreadable::new();
    for source in &o.project.pipeline.sources {
        // Every landed file, read by the same rules as a run. A source that cannot be read is
        // left out; querying it reports why.
        match sources::resolve(&o.project.pipeline, source, None).await {
            Ok(resolved) => Arc::new(resolved).register(&ctx, &source.name)?,
            Err(e) => {
                unreadable.insert(source.name.clone(), e);
            }
        }
    }
    let Some(release) = &o.release else {
        return Ok((ctx, unreadable));
    };
    for stage in &o.project.pipeline.stages {
        let dir = table_dir(&release.run_id, stage.layer, &stage.name);
        if o.wh.list(&o.wh.path(&dir)).await?.is_empty() {
            continue;
        }
        let err = |source| StrataError::Query { source };
        let url = ListingTableUrl::parse(o.wh.dir_url(&dir)).map_err(err)?;
        // The session's Parquet options, so strings read as in a run (plain Utf8, not views).
        let format =
            ParquetFormat::default().with_options(ctx.state().table_options().parquet.clone());
        let mut options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
        if stage.materialization == Materialization::Partitioned {
            options = options.with_table_partition_cols(vec![("ds".into(), DataType::Date32)]);
        }
        let schema = options
            .infer_schema(&ctx.state(), &url)
            .await
            .map_err(err)?;
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(schema);
        let table = ListingTable::try_new(config).map_err(err)?;
        ctx.register_table(stage.name.as_str(), Arc::new(table))
            .map_err(err)?;
    }
    Ok((ctx, unreadable))
}

/// `strata runs`: recent run records, newest first.
pub async fn runs(
    given: Option<&Path>,
    overrides: &Overrides,
    limit: usize,
) -> Result<Vec<crate::app::records::RunRecord>> {
    let o = open(given, overrides).await?;
    crate::app::records::list(&o.wh, limit).await
}

/// `strata checks [RUN_ID]`: one run's record, with its check results.
pub async fn run_record(
    given: Option<&Path>,
    overrides: &Overrides,
    run_id: Option<&str>,
) -> Result<crate::app::records::RunRecord> {
    let o = open(given, overrides).await?;
    crate::app::records::get(&o.wh, run_id).await
}

/// `strata rollback [--to RUN_ID]`. Takes the run lock so it cannot race a run.
pub async fn rollback(
    given: Option<&Path>,
    overrides: &Overrides,
    to: Option<&str>,
    break_lock: bool,
) -> Result<ReleasePointer> {
    let o = open(given, overrides).await?;
    let lock = crate::storage::lock::RunLock::acquire(&o.wh, "rollback", break_lock).await?;
    let result = crate::storage::release::rollback(&o.wh, to).await;
    lock.release(&o.wh).await?;
    result
}
