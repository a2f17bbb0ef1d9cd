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
use datafusion::arrow::compute::CastOptions;
use datafusion::arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::datasource::TableProvider;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder};
use datafusion::datasource::table_schema::TableSchemaBuilder;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{CastExpr, Column, Literal};
use datafusion::physical_expr_adapter::{
    DefaultPhysicalExprAdapter, PhysicalExprAdapter, PhysicalExprAdapterFactory,
};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;

use super::reconcile::{ColumnRead, plan_column};
use super::sources::ResolvedSource;

/// A resolved source registered as a table.
#[derive(Debug)]
pub struct SourceTable {
    pub resolved: Arc<ResolvedSource>,
}

#[async_trait]
impl TableProvider for SourceTable {
    fn schema(&self) -> SchemaRef {
        self.resolved.table_schema.clone()
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
        let r = &self.resolved;
        if let Some(batches) = &r.csv {
            let exec = MemorySourceConfig::try_new_exec(
                std::slice::from_ref(batches),
                r.table_schema.clone(),
                projection.cloned(),
            )?;
            return Ok(exec);
        }
        if r.files.is_empty() {
            let schema = match projection {
                Some(p) => Arc::new(r.table_schema.project(p)?),
                None => r.table_schema.clone(),
            };
            return Ok(Arc::new(EmptyExec::new(schema)));
        }
        let groups = file_groups(r, state.config().target_partitions());
        let partition_cols: Vec<Arc<Field>> = r
            .source
            .partitions
            .iter()
            .map(|(name, dt)| Arc::new(Field::new(name, dt.clone(), false)))
            .collect();
        let table_schema = TableSchemaBuilder::from(&r.file_schema)
            .with_table_partition_cols(partition_cols)
            .build();
        let format = ParquetFormat::default().with_options(state.table_options().parquet.clone());
        let config =
            FileScanConfigBuilder::new(r.store_url.clone(), format.file_source(table_schema))
                .with_file_groups(groups)
                .with_projection_indices(projection.cloned())?
                .with_limit(limit)
                .with_expr_adapter(Some(Arc::new(SourceColumns {
                    keys: r.source.key.clone(),
                    zone: r.source.naive_timestamps.map(|z| z.name().to_string()),
                })))
                .build();
        format.create_physical_plan(state, config).await
    }
}

/// The files in path order, cut into at most `n` contiguous groups of about equal bytes.
fn file_groups(r: &ResolvedSource, n: usize) -> Vec<FileGroup> {
    let n = n.max(1);
    let total: u64 = r.files.iter().map(|f| f.landed.size).sum();
    let per_group = total.div_ceil(n as u64).max(1);
    let mut groups: Vec<Vec<PartitionedFile>> = vec![Vec::new()];
    let mut bytes = 0u64;
    for f in &r.files {
        if bytes >= per_group && groups.len() < n {
            groups.push(Vec::new());
            bytes = 0;
        }
        bytes += f.landed.size;
        groups.last_mut().expect("one group at least").push(
            PartitionedFile::new(f.landed.path.to_string(), f.landed.size)
                .with_partition_values(f.landed.partition_values.clone()),
        );
    }
    groups.into_iter().map(FileGroup::new).collect()
}

/// The reading rules of [`super::reconcile`] as a physical expression adapter.
#[derive(Debug, Clone)]
pub struct SourceColumns {
    keys: Vec<String>,
    zone: Option<String>,
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
