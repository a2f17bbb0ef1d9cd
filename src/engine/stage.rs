//! Running one stage: execute its query and write the result as Parquet into the run's staging
//! area. Publishing is the caller's decision (after checks).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::UInt64Array;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::datasource::file_format::format_as_file_type;
use datafusion::datasource::file_format::parquet::{ParquetFormat, ParquetFormatFactory};
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder, cast};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion::prelude::SessionContext;
use futures::FutureExt;

use super::{Params, stage_sql_options};
use crate::error::{Result, StrataError};
use crate::model::{Materialization, Stage};
use crate::storage::Warehouse;
use crate::storage::release::staging_dir;

/// What running one stage produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageOutput {
    pub stage: String,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
    #[serde(with = "crate::report::seconds")]
    pub elapsed: Duration,
    /// The staging directory, relative to the root.
    pub staged: String,
    /// The data files of this run's write, as verified against the row count the write reported
    /// (`engine::written`): what the stage's checks read and what is published. A file that
    /// appears in the staging directory later (a write attempt of a lost executor that came
    /// back) is neither.
    #[serde(skip)]
    pub data_files: Vec<object_store::path::Path>,
    /// `ds=YYYY-MM-DD` for partitioned stages.
    pub partition: Option<String>,
    /// Bytes that sorts, aggregations and joins wrote to the spill directory.
    pub spilled_bytes: u64,
    /// How many spill files they wrote.
    pub spill_files: u64,
    /// CPU seconds and peak resident memory of executing and writing the stage.
    #[serde(flatten)]
    pub cost: super::usage::Cost,
    /// A model stage's account of its model (holdout metrics, adoption, backtest error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `df` with every output column whose type holds an Arrow view type (Utf8View, BinaryView, also
/// inside lists and structs) cast to the plain type (Utf8, Binary), names kept; `df` unchanged
/// when there is none. Stage outputs are written, registered and read by later stages with plain
/// types, whatever the SQL's functions return (DataFusion 55's `md5` returns Utf8View): the
/// memory pool counts the shared buffers of view arrays once per batch (apache/datafusion#12136),
/// which made stages spill with gigabytes free, and not every Parquet reader knows view types.
/// Errors: DataFusion's, when a cast cannot be planned.
pub fn plain_strings(df: DataFrame) -> std::result::Result<DataFrame, DataFusionError> {
    let casts: Vec<Option<DataType>> = df
        .schema()
        .fields()
        .iter()
        .map(|f| plain_type(f.data_type()))
        .collect();
    if casts.iter().all(Option::is_none) {
        return Ok(df);
    }
    let exprs: Vec<Expr> = df
        .schema()
        .iter()
        .zip(casts)
        .map(|((qualifier, field), to)| {
            let column = Expr::Column(Column::from((qualifier, field)));
            match to {
                Some(to) => cast(column, to).alias(field.name()),
                None => column,
            }
        })
        .collect();
    df.select(exprs)
}

/// The type `t` with its view types made plain, or `None` when it holds none.
fn plain_type(t: &DataType) -> Option<DataType> {
    let field =
        |f: &Field| plain_type(f.data_type()).map(|d| Arc::new(f.clone().with_data_type(d)));
    match t {
        DataType::Utf8View => Some(DataType::Utf8),
        DataType::BinaryView => Some(DataType::Binary),
        DataType::List(f) => field(f).map(DataType::List),
        DataType::LargeList(f) => field(f).map(DataType::LargeList),
        DataType::Struct(fields) => {
            let plain: Vec<Option<_>> = fields.iter().map(|f| field(f.as_ref())).collect();
            if plain.iter().all(Option::is_none) {
                return None;
            }
            let fields: Fields = fields
                .iter()
                .zip(plain)
                .map(|(f, p)| p.unwrap_or_else(|| f.clone()))
                .collect();
            Some(DataType::Struct(fields))
        }
        _ => None,
    }
}

/// The name of the partition directory for `params.ds`.
pub fn partition_name(params: &Params) -> String {
    format!("ds={}", params.ds.format("%Y-%m-%d"))
}

/// Execute `stage` and write its output under the run's staging directory.
pub async fn run_stage(
    ctx: &SessionContext,
    wh: &Warehouse,
    run_id: &str,
    stage: &Stage,
    schema: &SchemaRef,
    params: &Params,
) -> Result<StageOutput> {
    let started = Instant::now();
    let meter = super::usage::Meter::start();
    let staged = staging_dir(run_id, stage.layer, &stage.name);
    wh.delete_prefix(&wh.path(&staged)).await?;
    let stage_err = |source| StrataError::Stage {
        stage: stage.name.clone(),
        sql_file: stage.sql_display.clone(),
        source,
    };
    let partitioned = stage.materialization == Materialization::Partitioned;
    let url = wh.dir_url(&staged);
    let mut note = None;
    let mut query = stage.sql.clone();
    if let Some(spec) = &stage.model {
        // The model's rows are written through the same plan as a query's: a one-batch table.
        let model = super::model::run(ctx, wh, run_id, stage, spec, schema, params);
        let outcome = match std::panic::AssertUnwindSafe(model).catch_unwind().await {
            Ok(result) => result?,
            Err(panic) => {
                return Err(StrataError::StagePanic {
                    stage: stage.name.clone(),
                    message: panic_message(&panic),
                });
            }
        };
        let table = format!("__strata_model_{}", stage.name);
        let mem = datafusion::datasource::MemTable::try_new(
            outcome.batch.schema(),
            vec![vec![outcome.batch]],
        )
        .map_err(stage_err)?;
        let _ = ctx.deregister_table(&table);
        ctx.register_table(&table, Arc::new(mem))
            .map_err(stage_err)?;
        query = format!("SELECT * FROM {table}");
        note = Some(outcome.note);
    }
    let work = async {
        let df = ctx
            .sql_with_options(&query, stage_sql_options())
            .await
            .map_err(stage_err)?
            .with_param_values(params.to_param_values())
            .map_err(stage_err)?;
        super::portable::check(ctx, df.logical_plan()).map_err(stage_err)?;
        let df = plain_strings(df).map_err(stage_err)?;
        // The write is planned here rather than by `DataFrame::write_parquet` so that the
        // executed plan, and with it the spill metrics, stays at hand.
        let (state, plan) = df.into_parts();
        let partition_by = if partitioned {
            vec!["ds".to_string()]
        } else {
            Vec::new()
        };
        let write = LogicalPlanBuilder::copy_to(
            plan,
            url.clone(),
            format_as_file_type(Arc::new(ParquetFormatFactory::new())),
            HashMap::new(),
            partition_by,
        )
        .and_then(LogicalPlanBuilder::build)
        .map_err(stage_err)?;
        let df = DataFrame::new(state, write);
        let task = Arc::new(df.task_ctx());
        let physical = df.create_physical_plan().await.map_err(stage_err)?;
        let batches = collect(physical.clone(), task).await.map_err(stage_err)?;
        Ok((batches, spills(&physical, &mut HashSet::new())))
    };
    // A panic inside the engine must not take the process down: report it against the stage.
    let executed = std::panic::AssertUnwindSafe(work).catch_unwind().await;
    if stage.model.is_some() {
        let _ = ctx.deregister_table(format!("__strata_model_{}", stage.name).as_str());
    }
    let (batches, (spilled_bytes, spill_files)) = match executed {
        Ok(result) => result?,
        Err(panic) => {
            return Err(StrataError::StagePanic {
                stage: stage.name.clone(),
                message: panic_message(&panic),
            });
        }
    };
    let rows: u64 = batches
        .iter()
        .filter_map(|b| b.column(0).as_any().downcast_ref::<UInt64Array>())
        .flat_map(|a| a.iter().flatten())
        .sum();
    let partition = partitioned.then(|| partition_name(params));
    if partitioned {
        let dirs = wh.child_dirs(&wh.path(&staged)).await?;
        if let Some(other) = dirs.iter().find(|d| Some(*d) != partition.as_ref()) {
            return Err(StrataError::PartitionMismatch {
                stage: stage.name.clone(),
                expected: params.ds.to_string(),
                found: other.trim_start_matches("ds=").to_string(),
            });
        }
    }
    let file_schema = file_schema(schema, partitioned);
    let data_dir = match &partition {
        Some(p) => format!("{staged}/{p}"),
        None => staged.clone(),
    };
    let listed = wh.list(&wh.path(&data_dir)).await?;
    let mut files = super::written::settle_attempts(wh, &stage.name, listed, rows).await?;
    if files.is_empty() {
        // Readers need at least one file to know the table's columns.
        let empty = format!("{data_dir}/part-0.parquet");
        write_empty(wh, &empty, &file_schema).await?;
        files = wh
            .list(&wh.path(&data_dir))
            .await?
            .into_iter()
            .filter(|f| f.location == wh.path(&empty))
            .collect();
    }
    Ok(StageOutput {
        stage: stage.name.clone(),
        rows,
        files: files.len() as u64,
        bytes: files.iter().map(|f| f.size).sum(),
        elapsed: started.elapsed(),
        staged,
        data_files: files.iter().map(|f| f.location.clone()).collect(),
        partition,
        spilled_bytes,
        spill_files,
        cost: meter.finish(),
        note,
    })
}

/// Bytes and files spilled by every operator of an executed plan; a subtree read at several
/// places (`shared::SharedExec`) counts once.
fn spills(plan: &Arc<dyn ExecutionPlan>, seen: &mut HashSet<*const ()>) -> (u64, u64) {
    if !seen.insert(Arc::as_ptr(plan) as *const ()) {
        return (0, 0);
    }
    let (mut bytes, mut files) = plan
        .metrics()
        .map(|m| {
            (
                m.spilled_bytes().unwrap_or(0) as u64,
                m.spill_count().unwrap_or(0) as u64,
            )
        })
        .unwrap_or((0, 0));
    for child in plan.children() {
        let (b, f) = spills(child, seen);
        bytes += b;
        files += f;
    }
    (bytes, files)
}

/// The schema stored in files: the output schema without the hive partition column.
pub fn file_schema(schema: &SchemaRef, partitioned: bool) -> SchemaRef {
    if !partitioned {
        return schema.clone();
    }
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| f.name() != "ds")
        .cloned()
        .collect();
    Arc::new(Schema::new(fields))
}

async fn write_empty(wh: &Warehouse, rel: &str, schema: &SchemaRef) -> Result<()> {
    let mut buf = Vec::new();
    let path = wh.path(rel);
    let parquet_err =
        |e: datafusion::parquet::errors::ParquetError| StrataError::Engine { source: e.into() };
    let mut writer = ArrowWriter::try_new(&mut buf, schema.clone(), None).map_err(parquet_err)?;
    writer.finish().map_err(parquet_err)?;
    drop(writer);
    wh.put(&path, buf).await
}

/// Register a stage's published output (a directory of the pending release) as a table.
pub fn register_output(
    ctx: &SessionContext,
    wh: &Warehouse,
    table: &str,
    dir: &str,
    schema: &SchemaRef,
    partitioned: bool,
) -> Result<()> {
    let err = |source| StrataError::Engine { source };
    let url = ListingTableUrl::parse(wh.dir_url(dir)).map_err(err)?;
    let format = ParquetFormat::default().with_options(ctx.state().table_options().parquet.clone());
    let mut options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
    if partitioned {
        options = options.with_table_partition_cols(vec![(
            "ds".to_string(),
            datafusion::arrow::datatypes::DataType::Date32,
        )]);
    }
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(file_schema(schema, partitioned));
    let listing = ListingTable::try_new(config).map_err(err)?;
    let _ = ctx.deregister_table(table);
    ctx.register_table(table, Arc::new(listing)).map_err(err)?;
    Ok(())
}

/// Register exactly `files` (data files of a staging directory, with `file_schema`) as a
/// table: a stage's verified output, for its checks and for later stages of a run that does
/// not publish it.
pub fn register_files(
    ctx: &SessionContext,
    wh: &Warehouse,
    table: &str,
    files: &[object_store::path::Path],
    file_schema: &SchemaRef,
) -> Result<()> {
    let err = |source| StrataError::Engine { source };
    let urls = files
        .iter()
        .map(|f| ListingTableUrl::parse(wh.object_url(f)).map_err(err))
        .collect::<Result<Vec<_>>>()?;
    let format = ParquetFormat::default().with_options(ctx.state().table_options().parquet.clone());
    let options = ListingOptions::new(Arc::new(format)).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(file_schema.clone());
    let listing = ListingTable::try_new(config).map_err(err)?;
    let _ = ctx.deregister_table(table);
    ctx.register_table(table, Arc::new(listing)).map_err(err)?;
    Ok(())
}

/// The text of a caught panic.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(t: DataType) -> DataType {
        DataType::List(Arc::new(Field::new("item", t, true)))
    }

    #[test]
    fn view_types_become_plain_inside_lists_and_structs() {
        assert_eq!(
            plain_type(&item(DataType::Utf8View)),
            Some(item(DataType::Utf8))
        );
        let mixed = |b| {
            DataType::Struct(Fields::from(vec![
                Field::new("a", DataType::Int32, false),
                Field::new("b", b, true),
            ]))
        };
        assert_eq!(
            plain_type(&mixed(DataType::BinaryView)),
            Some(mixed(DataType::Binary))
        );
        assert_eq!(plain_type(&DataType::Utf8), None);
        assert_eq!(plain_type(&item(DataType::Int64)), None);
        assert_eq!(plain_type(&mixed(DataType::Utf8)), None);
    }

    #[tokio::test]
    async fn a_query_returning_views_is_written_with_plain_strings() {
        // DataFusion 55's md5 returns Utf8View; the cast keeps names, order and values.
        let ctx = SessionContext::new();
        let df = ctx
            .sql("SELECT md5('a') AS h, 7 AS n, [md5('b')] AS l")
            .await
            .unwrap();
        assert_eq!(df.schema().field(0).data_type(), &DataType::Utf8View);
        let plain = plain_strings(df).unwrap();
        let batches = plain.collect().await.unwrap();
        let schema = batches[0].schema();
        let types: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type().clone()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("h", DataType::Utf8),
                ("n", DataType::Int64),
                ("l", item(DataType::Utf8)),
            ]
        );
        let h = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .unwrap();
        // md5("a"), as `printf a | md5sum` gives it.
        assert_eq!(h.value(0), "0cc175b9c0f1b6a831c399e269772661");
    }
}
