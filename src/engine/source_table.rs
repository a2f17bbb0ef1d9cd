//! A resolved source as a DataFusion table.
//!
//! [`SourceTable`] scans exactly the files its [`ResolvedSource`] listed (in path order, split
//! into contiguous groups), with the partition values parsed at resolution, so a stage never
//! re-lists a source and never depends on the order a store lists files in. Parquet files are
//! read through [`SourceColumns`], a physical expression adapter that applies the reading rules
//! of [`super::reconcile`] to each file: names matched across case, missing and null-typed
//! columns as NULL, naive timestamps in the declared zone, lossless conversions with overflow
//! checked. CSV seeds are decoded once at resolution and scanned from memory.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchemaBuilder;
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{CastExpr, Column, Literal};
use datafusion::physical_expr_adapter::{
    DefaultPhysicalExprAdapter, PhysicalExprAdapter, PhysicalExprAdapterFactory,
};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use object_store::ObjectMeta;
use object_store::path::Path as ObjPath;

use super::reconcile::{ColumnRead, plan_column};
use super::sources::ResolvedSource;

/// Everything a scan of one source reads, decided at resolution and owned: the store, the
/// listed files in path order with their typed partition values, the schemas, the reading rules
/// and a CSV seed's decoded rows. A Ballista scheduler or executor receives it with the plan
/// (`engine::distributed`) and rebuilds the same scan without listing anything.
#[derive(Debug, Clone)]
pub struct SourceScan {
    pub store_url: ObjectStoreUrl,
    /// (object path, size in bytes, partition values in declared order), in path order.
    pub files: Vec<(String, u64, Vec<ScalarValue>)>,
    /// Declared columns, or the union of the files' columns.
    pub file_schema: SchemaRef,
    /// Hive partition columns, in declared order.
    pub partitions: Vec<(String, DataType)>,
    /// File columns then partition columns.
    pub table_schema: SchemaRef,
    pub rules: SourceColumns,
    pub csv: Option<Vec<RecordBatch>>,
}

impl SourceScan {
    /// The scan of `r`.
    pub fn of(r: &ResolvedSource) -> Self {
        Self {
            store_url: r.store_url.clone(),
            files: r
                .files
                .iter()
                .map(|f| {
                    (
                        f.landed.path.to_string(),
                        f.landed.size,
                        f.landed.partition_values.clone(),
                    )
                })
                .collect(),
            file_schema: r.file_schema.clone(),
            partitions: r.source.partitions.clone(),
            table_schema: r.table_schema.clone(),
            rules: SourceColumns {
                keys: r.source.key.clone(),
                zone: r.source.naive_timestamps.map(|z| z.name().to_string()),
            },
            csv: r.csv.clone(),
        }
    }

    /// The plan reading this source: `projection` (indices into the table schema) and `limit`
    /// as DataFusion passes them to a scan, Parquet files cut into at most `groups` groups.
    pub async fn plan(
        &self,
        state: &dyn Session,
        groups: usize,
        projection: Option<&Vec<usize>>,
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if let Some(batches) = &self.csv {
            return MemorySourceConfig::try_new_exec(
                std::slice::from_ref(batches),
                self.table_schema.clone(),
                projection.cloned(),
            )
            .map(|exec| exec as Arc<dyn ExecutionPlan>);
        }
        if self.files.is_empty() {
            let schema = match projection {
                Some(p) => Arc::new(self.table_schema.project(p)?),
                None => self.table_schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let partition_cols: Vec<Arc<Field>> = self
            .partitions
            .iter()
            .map(|(name, dt)| Arc::new(Field::new(name, dt.clone(), false)))
            .collect();
        let table_schema = TableSchemaBuilder::from(&self.file_schema)
            .with_table_partition_cols(partition_cols)
            .build();
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let config =
            FileScanConfigBuilder::new(self.store_url.clone(), format.file_source(table_schema))
                .with_file_groups(self.file_groups(groups)?)
                .with_projection_indices(projection.cloned())?
                .with_limit(limit)
                .with_expr_adapter(Some(Arc::new(self.rules.clone())))
                .build();
        format.create_physical_plan(state, config).await
    }

    /// The files in path order, cut into at most `n` contiguous groups of about equal bytes.
    /// Errors: a stored path that is not a valid object path (not written by [`Self::of`]).
    fn file_groups(&self, n: usize) -> DfResult<Vec<FileGroup>> {
        let n = n.max(1);
        let total: u64 = self.files.iter().map(|f| f.1).sum();
        let per_group = total.div_ceil(n as u64).max(1);
        let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new()];
        let mut bytes = 0u64;
        for (path, size, values) in &self.files {
            if bytes >= per_group && groups.len() < n {
                groups.push(Vec::new());
                bytes = 0;
            }
            bytes += size;
            // The path is an object path's text: parsed, not encoded again
            // (`PartitionedFile::new` percent-encodes every non-ASCII character, and a project
            // under `客户/` would be read at `%E5%AE%A2%E6%88%B7/`).
            let location = ObjPath::parse(path).map_err(|e| {
                DataFusionError::Internal(format!("scan of `{path}`: not an object path: {e}"))
            })?;
            let mut file = PartitionedFile::new_from_meta(ObjectMeta {
                location,
                last_modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                size: *size,
                e_tag: None,
                version: None,
            });
            file.partition_values = values.clone();
            groups.last_mut().expect("one group at least").push(file);
        }
        Ok(groups.into_iter().map(FileGroup::new).collect())
    }
}

/// A resolved source registered as a table.
#[derive(Debug)]
pub struct SourceTable {
    pub scan: Arc<SourceScan>,
    /// Plan scans as [`PortableScan`]s, which a Ballista scheduler can send to its executors
    /// (set on the nodes of a cluster; the embedded engine plans the file scan itself).
    pub portable: bool,
}

#[async_trait]
impl TableProvider for SourceTable {
    fn schema(&self) -> SchemaRef {
        self.scan.table_schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let groups = state.config().target_partitions();
        if !self.portable {
            return self.scan.plan(state, groups, projection, limit).await;
        }
        let input = self.scan.plan(state, groups, projection, limit).await?;
        if !input.is::<DataSourceExec>() || self.scan.csv.is_some() {
            // In-memory rows and empty scans travel as they are.
            return Ok(input);
        }
        Ok(Arc::new(PortableScan::try_new(
            self.scan.rules.clone(),
            input,
        )?))
    }
}

/// A source's file scan that travels in a plan: on a Ballista cluster the scheduler plans it
/// and the executors run it. DataFusion's plan serialization keeps a file scan's files,
/// projection and options but drops its reading rules ([`SourceColumns`]), which would read
/// the files as they are; this node carries the rules (`engine::distributed`'s codec) and puts
/// them back on its input, a plain file scan, when it runs. The input is a real child, so
/// Ballista restricts it to each task's file groups as it does any file scan.
#[derive(Debug)]
pub struct PortableScan {
    pub rules: SourceColumns,
    pub input: Arc<dyn ExecutionPlan>,
    /// The input with the rules put back: one plan for all partitions, because a file scan
    /// shares its queue of files among its partitions (a scan per partition would read every
    /// file once per partition).
    reading: Arc<dyn ExecutionPlan>,
}

impl PortableScan {
    /// The scan of `input` (a file scan) read with `rules`. Errors when `input` is not a file
    /// scan.
    pub fn try_new(rules: SourceColumns, input: Arc<dyn ExecutionPlan>) -> DfResult<Self> {
        let config = input.downcast_ref::<DataSourceExec>().and_then(|exec| {
            let source: &dyn std::any::Any = exec.data_source().as_ref();
            source.downcast_ref::<FileScanConfig>()
        });
        let Some(config) = config else {
            return Err(DataFusionError::Internal(format!(
                "PortableScan over {}, not a file scan",
                input.name()
            )));
        };
        let reading = DataSourceExec::from_data_source(
            FileScanConfigBuilder::from(config.clone())
                .with_expr_adapter(Some(Arc::new(rules.clone())))
                .build(),
        );
        Ok(Self {
            rules,
            input,
            reading,
        })
    }
}

impl DisplayAs for PortableScan {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "PortableScan: keys={:?}, zone={:?}",
            self.rules.keys, self.rules.zone
        )
    }
}

impl ExecutionPlan for PortableScan {
    fn name(&self) -> &str {
        "PortableScan"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let [input] = <[_; 1]>::try_from(children).map_err(|c| {
            DataFusionError::Internal(format!("PortableScan takes one input, got {}", c.len()))
        })?;
        Ok(Arc::new(PortableScan::try_new(self.rules.clone(), input)?))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        self.reading.execute(partition, context)
    }
}

/// The reading rules of [`super::reconcile`] as a physical expression adapter.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceColumns {
    /// Key columns (a key read from a file may not be NULL-filled).
    pub keys: Vec<String>,
    /// The zone naive timestamps are read in (IANA name).
    pub zone: Option<String>,
}

impl PhysicalExprAdapterFactory for SourceColumns {
    fn create(
        &self,
        logical_file_schema: SchemaRef,
        physical_file_schema: SchemaRef,
    ) -> DfResult<Arc<dyn PhysicalExprAdapter>> {
        Ok(Arc::new(FileColumns {
            rules: self.clone(),
            fallback: DefaultPhysicalExprAdapter::new(
                logical_file_schema.clone(),
                physical_file_schema.clone(),
            ),
            logical: logical_file_schema,
            physical: physical_file_schema,
        }))
    }
}

/// The adapter for one file.
#[derive(Debug)]
struct FileColumns {
    rules: SourceColumns,
    logical: SchemaRef,
    physical: SchemaRef,
    fallback: DefaultPhysicalExprAdapter,
}

/// Conversions refuse to lose data: an overflow is an error, never a NULL.
const STRICT: CastOptions<'static> = CastOptions {
    safe: false,
    format_options: datafusion::arrow::util::display::FormatOptions::new(),
};

impl FileColumns {
    fn read(&self, column: &Column) -> DfResult<Option<Arc<dyn PhysicalExpr>>> {
        let Ok(declared) = self.logical.field_with_name(column.name()) else {
            return Ok(None);
        };
        let is_key = self.rules.keys.iter().any(|k| k == column.name());
        let read = plan_column(declared, &self.physical, is_key, self.rules.zone.as_deref())
            .map_err(|r| DataFusionError::Execution(r.to_string()))?;
        let target = Arc::new(declared.clone());
        Ok(Some(match read {
            ColumnRead::Null { .. } => {
                Arc::new(Literal::new(ScalarValue::try_from(declared.data_type())?))
            }
            ColumnRead::Column {
                index, name, zone, ..
            } => {
                let file_field = self.physical.field(index);
                let col: Arc<dyn PhysicalExpr> = Arc::new(Column::new(&name, index));
                if file_field == declared {
                    col
                } else if let (Some(zone), DataType::Timestamp(unit, None)) =
                    (zone, file_field.data_type())
                {
                    let local = DataType::Timestamp(*unit, Some(zone.into()));
                    let instant = Arc::new(CastExpr::new(col, local, Some(STRICT)));
                    Arc::new(CastExpr::new_with_target_field(
                        instant,
                        target,
                        Some(STRICT),
                    ))
                } else {
                    Arc::new(CastExpr::new_with_target_field(col, target, Some(STRICT)))
                }
            }
        }))
    }
}

impl PhysicalExprAdapter for FileColumns {
    fn rewrite(&self, expr: Arc<dyn PhysicalExpr>) -> DfResult<Arc<dyn PhysicalExpr>> {
        // Bottom-up: a replaced column is not visited again, so the default adapter never
        // casts underneath one of ours. Columns outside the declared schema are its job.
        expr.transform(|e| {
            let Some(c) = e.downcast_ref::<Column>() else {
                return Ok(Transformed::no(e));
            };
            match self.read(c)? {
                Some(read) => Ok(Transformed::yes(read)),
                None => Ok(Transformed::yes(self.fallback.rewrite(e)?)),
            }
        })
        .data()
    }
}
