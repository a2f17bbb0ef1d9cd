//! ODS sources, resolved once per run.
//!
//! [`resolve`] lists a source's landed files (see [`super::landing`]), reads every Parquet
//! footer (see [`super::preflight`]), reconciles each file's columns with the declared ones
//! (see [`super::reconcile`]) and decodes CSV seeds (see [`super::seed_csv`]). The result, a
//! [`ResolvedSource`], is the one object that validation, preflight, stage registration (as a
//! [`super::source_table::SourceTable`]), the damage search and the run record use; nothing
//! re-lists or re-reads a footer after it. Every finding that is not an error (a skipped
//! `_SUCCESS`, a column read under another name, naive timestamps read in the declared zone) is
//! kept as a [`SourceAnomaly`] for the run record.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::parquet::file::metadata::ParquetMetaData;
use datafusion::prelude::SessionContext;
use object_store::ObjectStore;

use super::landing::{self, LandedFile};
use super::reconcile::{self, ColumnRead, Refusal};
use crate::error::{Result, StrataError};
use crate::model::{Pipeline, Source, SourceFormat};
use crate::storage::Warehouse;

/// A landed Parquet file with its decoded footer.
#[derive(Debug, Clone)]
pub struct ResolvedFile {
    pub landed: LandedFile,
    /// The file's Arrow schema as the reader sees it (empty for CSV).
    pub physical: SchemaRef,
    pub metadata: Option<Arc<ParquetMetaData>>,
}

/// Something about a landed file that is not an error but changes how it is read, or that it
/// is not read at all. Kept in the run record; free of personal data (names and paths only).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SourceAnomaly {
    pub source: String,
    /// The first file it was found in.
    pub file: String,
    /// How many files show it.
    pub files: usize,
    pub column: Option<String>,
    pub what: String,
    /// What strata did about it.
    pub action: String,
}

/// A source as this run reads it.
#[derive(Debug)]
pub struct ResolvedSource {
    pub source: Source,
    pub store_url: ObjectStoreUrl,
    pub store: Arc<dyn ObjectStore>,
    /// Data files landed on or before the run's date, in path order.
    pub files: Vec<ResolvedFile>,
    /// Declared columns, or the union of the files' columns.
    pub file_schema: SchemaRef,
    /// File columns then partition columns.
    pub table_schema: SchemaRef,
    /// Decoded rows of a CSV seed.
    pub csv: Option<Vec<RecordBatch>>,
    /// The file(s) a CSV seed was decoded from (for provenance; `files` holds Parquet only).
    pub seed_files: Vec<LandedFile>,
    pub anomalies: Vec<SourceAnomaly>,
    /// `ds=` directories holding no data file, by date.
    pub hollow_partitions: Vec<(NaiveDate, String)>,
    pub display_root: String,
    /// The source directory on a local disk, to tell an empty `ds=` directory from none.
    pub local_root: Option<std::path::PathBuf>,
}

/// Every source a run reads, by name.
#[derive(Debug, Default)]
pub struct ResolvedSources {
    pub by_name: BTreeMap<String, Arc<ResolvedSource>>,
}

impl ResolvedSources {
    pub fn get(&self, name: &str) -> Option<&Arc<ResolvedSource>> {
        self.by_name.get(name)
    }

    /// Table schemas by source name, for validation.
    pub fn schemas(&self) -> BTreeMap<String, std::result::Result<SchemaRef, String>> {
        self.by_name
            .iter()
            .map(|(n, r)| (n.clone(), Ok(r.table_schema.clone())))
            .collect()
    }

    pub fn anomalies(&self) -> Vec<SourceAnomaly> {
        self.by_name
            .values()
            .flat_map(|r| r.anomalies.iter().cloned())
            .collect()
    }

    /// Refuse a run whose required sources have no data, or no data for `ds`.
    pub fn require_data(&self, names: &[&str], ds: NaiveDate) -> Result<()> {
        for name in names {
            if let Some(r) = self.get(name) {
                r.require_data(ds)?;
            }
        }
        Ok(())
    }

    /// Register every source in `ctx` as a table.
    pub fn register(&self, ctx: &SessionContext) -> Result<()> {
        for r in self.by_name.values() {
            r.register(ctx, &r.source.name)?;
        }
        Ok(())
    }
}

/// Resolve each source in `names` for a run of `ds` (every landed file when `ds` is `None`).
pub async fn resolve_all(
    pipeline: &Pipeline,
    names: &[&str],
    ds: Option<NaiveDate>,
) -> Result<ResolvedSources> {
    let mut out = ResolvedSources::default();
    for name in names {
        let source = pipeline
            .source(name)
            .expect("plan inputs name known sources");
        let resolved = resolve(pipeline, source, ds).await?;
        out.by_name.insert(source.name.clone(), Arc::new(resolved));
    }
    Ok(out)
}

impl ResolvedSource {
    /// Every landed file this run reads: the Parquet files, or the seed's CSV file.
    pub fn landed(&self) -> Vec<&LandedFile> {
        self.files
            .iter()
            .map(|f| &f.landed)
            .chain(self.seed_files.iter())
            .collect()
    }

    /// A required source must have data, and a `ds`-partitioned one data for `ds`.
    pub fn require_data(&self, ds: NaiveDate) -> Result<()> {
        let s = &self.source;
        if s.optional {
            return Ok(());
        }
        if self.files.is_empty() && self.csv.is_none() {
            return Err(StrataError::EmptySource {
                source_name: s.name.clone(),
                location: s.location.clone(),
                ds: ds.to_string(),
            });
        }
        let by_ds = s.partitions.iter().any(|(n, _)| n == "ds");
        if by_ds && !self.files.iter().any(|f| f.landed.ds == Some(ds)) {
            let hollow = self
                .hollow_partitions
                .iter()
                .find(|(d, _)| *d == ds)
                .map(|(_, dir)| dir.clone())
                .or_else(|| {
                    let dir = format!("ds={ds}");
                    let root = self.local_root.as_ref()?;
                    root.join(&dir).is_dir().then_some(dir)
                });
            if let Some(dir) = hollow {
                return Err(StrataError::HollowPartition {
                    source_name: s.name.clone(),
                    dir: format!("{}/{dir}", self.display_root),
                });
            }
            return Err(StrataError::MissingPartition {
                source_name: s.name.clone(),
                location: s.location.clone(),
                ds: ds.to_string(),
            });
        }
        Ok(())
    }

    /// Register this source in `ctx` under `table`.
    pub fn register(self: &Arc<Self>, ctx: &SessionContext, table: &str) -> Result<()> {
        ctx.register_object_store(self.store_url.as_ref(), self.store.clone());
        let _ = ctx.deregister_table(table);
        let provider = super::source_table::SourceTable {
            scan: Arc::new(super::source_table::SourceScan::of(self)),
            portable: false,
        };
        ctx.register_table(table, Arc::new(provider))
            .map_err(|source| StrataError::Source {
                source_name: self.source.name.clone(),
                location: self.source.location.clone(),
                source,
            })?;
        Ok(())
    }
}

/// The URL of a source's directory (with a trailing slash) or single file.
pub fn source_url(pipeline: &Pipeline, source: &Source) -> Result<String> {
    let is_file = is_single_file(&source.location);
    if source.location.contains("://") {
        let mut url = source.location.clone();
        if !url.ends_with('/') && !is_file {
            url.push('/');
        }
        return Ok(url);
    }
    let path = pipeline.project_dir.join(&source.location);
    let abs = std::path::absolute(&path).map_err(|e| StrataError::Io {
        operation: "resolve source location",
        path: path.clone(),
        source: e,
    })?;
    let invalid = || StrataError::InvalidArgument {
        argument: format!("location of source `{}`", source.name),
        value: source.location.clone(),
        reason: "not a usable path".into(),
    };
    let url = if is_file {
        url::Url::from_file_path(&abs).map_err(|_| invalid())?
    } else {
        url::Url::from_directory_path(&abs).map_err(|_| invalid())?
    };
    Ok(url.to_string())
}

/// A location naming one file (`fx_rates.csv`) rather than a directory.
fn is_single_file(location: &str) -> bool {
    location.ends_with(".csv") || location.ends_with(".parquet")
}

/// The declared file schema of a source, if it declares its columns.
pub fn declared_schema(source: &Source) -> Option<SchemaRef> {
    let columns = source.columns.as_ref()?;
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, dt)| Field::new(name, dt.clone(), true))
        .collect();
    Some(Arc::new(Schema::new(fields)))
}

/// The table schema (file columns then partition columns) of a source.
pub fn table_schema(source: &Source, file_schema: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = file_schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for (name, dt) in &source.partitions {
        fields.push(Field::new(name, dt.clone(), false));
    }
    Arc::new(Schema::new(fields))
}

/// List, read footers, reconcile columns and decode seeds: see the module docs.
pub async fn resolve(
    pipeline: &Pipeline,
    source: &Source,
    ds: Option<NaiveDate>,
) -> Result<ResolvedSource> {
    let url = source_url(pipeline, source)?;
    let listing = landing::list(pipeline, source, &url, ds).await?;
    let wh = &listing.wh;
    let store_url =
        ObjectStoreUrl::parse(wh.store_url.as_str()).map_err(|e| StrataError::Source {
            source_name: source.name.clone(),
            location: source.location.clone(),
            source: e,
        })?;
    let mut findings = Findings::new(&source.name);
    for s in &listing.skipped {
        findings.add(
            &s.display,
            None,
            format!("not data: a name starting with `{}`", &s.because[..1]),
            "skipped, as Hadoop, Spark and Hive skip it".into(),
        );
    }
    for file in &listing.deeper {
        findings.add(
            file,
            None,
            "data file in a directory below the declared partitions".into(),
            "read as part of its partition".into(),
        );
    }
    for (_, dir) in &listing.hollow_partitions {
        findings.add(
            dir,
            None,
            "partition directory holds no data file".into(),
            "nothing read for that date".into(),
        );
    }
    let display_root = display_root(pipeline, wh);
    let mut seed_files = Vec::new();
    let (files, file_schema, csv) = match source.format {
        SourceFormat::Csv => {
            seed_files = listing.files.clone();
            let declared = declared_schema(source).expect("csv sources declare columns");
            let mut batches = Vec::new();
            for f in &listing.files {
                let bytes = wh.get(&f.path).await?.unwrap_or_default();
                batches.extend(super::seed_csv::decode(
                    source,
                    &f.display,
                    &bytes,
                    &declared,
                    &mut findings,
                )?);
            }
            (Vec::new(), declared, Some(batches))
        }
        SourceFormat::Parquet => {
            let files = read_footers(wh, &source.name, listing.files).await?;
            let schema = match declared_schema(source) {
                Some(s) => s,
                None => infer(source, &files, ds)?,
            };
            let mut local = Vec::with_capacity(files.len());
            for f in &files {
                local.push(reconcile_file(source, f, &schema, &mut findings)?);
            }
            check_local_times(source, &wh.store, &files, &local).await?;
            (files, schema, None)
        }
    };
    Ok(ResolvedSource {
        table_schema: table_schema(source, &file_schema),
        source: source.clone(),
        store_url,
        store: wh.store.clone(),
        files,
        file_schema,
        csv,
        seed_files,
        anomalies: findings.done(),
        hollow_partitions: listing.hollow_partitions,
        display_root,
        local_root: wh.local_root.clone(),
    })
}

fn display_root(pipeline: &Pipeline, wh: &Warehouse) -> String {
    super::preflight::display_file(pipeline, wh, &wh.root)
}

/// Read every footer (many at once); a file that is not readable Parquet is refused.
async fn read_footers(
    wh: &Warehouse,
    source: &str,
    landed: Vec<LandedFile>,
) -> Result<Vec<ResolvedFile>> {
    let metas = super::preflight::footers(wh.store.clone(), &landed).await;
    let mut out = Vec::with_capacity(landed.len());
    for (f, meta) in landed.into_iter().zip(metas) {
        match meta {
            Ok((metadata, physical)) => out.push(ResolvedFile {
                landed: f,
                physical,
                metadata: Some(metadata),
            }),
            Err(reason) => {
                return Err(StrataError::BadSourceFile {
                    source_name: source.to_string(),
                    path: f.display,
                    issue: Box::new(super::preflight::FileIssue::Unreadable { reason }),
                });
            }
        }
    }
    Ok(out)
}

/// The file schema of a source without declared columns: the union of the files' columns in
/// path order, names folded across case (the first spelling wins), each column typed as in the
/// first file that has a value type for it; all nullable.
fn infer(source: &Source, files: &[ResolvedFile], ds: Option<NaiveDate>) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = Vec::new();
    for f in files {
        for pf in f.physical.fields() {
            let folded = reconcile::fold(pf.name());
            let known = fields
                .iter_mut()
                .find(|x| reconcile::fold(x.name()) == folded);
            let mut dt = pf.data_type().clone();
            if let (DataType::Timestamp(_, None), Some(_)) = (&dt, source.naive_timestamps) {
                dt = DataType::Timestamp(
                    datafusion::arrow::datatypes::TimeUnit::Microsecond,
                    Some("UTC".into()),
                );
            }
            match known {
                Some(k) if k.data_type() == &DataType::Null => {
                    *k = Field::new(k.name(), dt, true);
                }
                Some(_) => {}
                None => fields.push(Field::new(pf.name().trim(), dt, true)),
            }
        }
    }
    if files.is_empty() && !source.optional {
        return Err(StrataError::EmptySource {
            source_name: source.name.clone(),
            location: source.location.clone(),
            ds: ds.map_or_else(|| "today".to_string(), |d| d.to_string()),
        });
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// Check that every declared column of `schema` can be read from `file`, and note how.
/// Returns the columns (declared name, file index) read as wall-clock time in a zone.
fn reconcile_file(
    source: &Source,
    file: &ResolvedFile,
    schema: &SchemaRef,
    findings: &mut Findings,
) -> Result<Vec<(String, usize)>> {
    let zone = source.naive_timestamps.map(|z| z.name().to_string());
    let metadata = file.metadata.as_ref().expect("parquet files have metadata");
    let mut local = Vec::new();
    for declared in schema.fields() {
        let is_key = source.key.iter().any(|k| k == declared.name());
        let refuse = |refusal: Refusal| file_refused(source, file, refusal);
        let read = reconcile::plan_column(declared, &file.physical, is_key, zone.as_deref())
            .map_err(refuse)?;
        if let ColumnRead::Column {
            index,
            narrowing,
            zone,
            ..
        } = &read
        {
            if *narrowing {
                super::preflight::values_fit(metadata, &file.physical, *index, declared)
                    .map_err(refuse)?;
            }
            // One record without its key is an ordinary reject (null_key, in dwd_reject); two
            // or more, none with a key, mean a broken file.
            if is_key
                && metadata.file_metadata().num_rows() > 1
                && super::preflight::all_null(metadata, &file.physical, *index)
            {
                return Err(refuse(Refusal::EmptyKey {
                    column: declared.name().clone(),
                }));
            }
            if zone.is_some() {
                local.push((declared.name().clone(), *index));
            }
        }
        if let Some((what, action)) = reconcile::notable(&read, declared.name()) {
            findings.add(
                &file.landed.display,
                Some(declared.name().clone()),
                what,
                action,
            );
        }
    }
    Ok(local)
}

fn file_refused(source: &Source, file: &ResolvedFile, refusal: Refusal) -> StrataError {
    StrataError::BadSourceFile {
        source_name: source.name.clone(),
        path: file.landed.display.clone(),
        issue: Box::new(super::preflight::FileIssue::Refused { refusal }),
    }
}

/// Refuse a file whose wall-clock timestamps (read in the source's `naive_timestamps` zone)
/// include one that names no single instant; see [`super::local_time`].
async fn check_local_times(
    source: &Source,
    store: &Arc<dyn ObjectStore>,
    files: &[ResolvedFile],
    columns: &[Vec<(String, usize)>],
) -> Result<()> {
    let Some(zone) = source.naive_timestamps else {
        return Ok(());
    };
    let bounds: Vec<Vec<_>> = files
        .iter()
        .zip(columns)
        .map(|(f, cols)| {
            let meta = f.metadata.as_ref().expect("parquet files have metadata");
            cols.iter()
                .map(|(_, i)| super::local_time::bounds(meta, &f.physical, *i))
                .collect()
        })
        .collect();
    let all = bounds.iter().flatten().flatten();
    let (Some(min), Some(max)) = (all.clone().map(|b| b.0).min(), all.map(|b| b.1).max()) else {
        return Ok(());
    };
    let changes = super::local_time::clock_changes(zone, min, max);
    for ((f, cols), bounds) in files.iter().zip(columns).zip(&bounds) {
        for ((name, index), b) in cols.iter().zip(bounds) {
            if !super::local_time::may_reach(*b, &changes) {
                continue;
            }
            let meta = f.metadata.as_ref().expect("parquet files have metadata");
            let found = super::local_time::scan(store, &f.landed.path, meta, *index, zone).await;
            if let Err(bad) = found {
                return Err(file_refused(
                    source,
                    f,
                    Refusal::AmbiguousLocalTime {
                        column: name.clone(),
                        value: bad.value.to_string(),
                        zone: zone.name().to_string(),
                        why: bad.why.to_string(),
                    },
                ));
            }
        }
    }
    Ok(())
}

/// Anomalies, one entry per column and kind of finding, with the first file and a count.
pub(crate) struct Findings {
    source: String,
    list: Vec<SourceAnomaly>,
}

impl Findings {
    pub(crate) fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            list: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, file: &str, column: Option<String>, what: String, action: String) {
        if let Some(a) = self
            .list
            .iter_mut()
            .find(|a| a.column == column && a.what == what && a.action == action)
        {
            a.files += 1;
            return;
        }
        self.list.push(SourceAnomaly {
            source: self.source.clone(),
            file: file.to_string(),
            files: 1,
            column,
            what,
            action,
        });
    }

    fn done(self) -> Vec<SourceAnomaly> {
        self.list
    }
}
