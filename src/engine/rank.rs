//! `ROW_NUMBER()`, `RANK()` and `DENSE_RANK()` over `PARTITION BY ... ORDER BY ...` on input
//! that is already sorted: numbering by comparing each row with the one before it.
//!
//! Stage SQL numbers rows per key to keep the latest version of a record (`ROW_NUMBER() ...
//! WHERE rn = 1` in dwd_customer, dwd_order_latest) and to rank a customer's categories
//! (dws_customer_category_spend). DataFusion 55 runs such a window in its general
//! `BoundedWindowAggExec`, which keeps a state per window partition (its key as
//! `Vec<ScalarValue>` in a map, buffered batches, a frame) and at a million customers spends
//! most of its time on that bookkeeping (bench/NOTES.md, "first_value aggregates and ROW_NUMBER
//! windows of strata's own": 3.48 s of 18.88 M rows against 0.43 s here). The numbering itself needs
//! none of it: the input arrives sorted by the partition keys and then the ORDER BY, so a row
//! starts a partition when its partition values differ from the previous row's, and starts a
//! new rank when its ORDER BY values do.
//!
//! The physical optimizer rule [`NumberSortedPartitions`] replaces a `BoundedWindowAggExec`
//! whose input is fully sorted for it (`InputOrderMode::Sorted`), whose expressions are all
//! `row_number`, `rank` or `dense_rank` (results `UInt64`) with one PARTITION BY (not empty)
//! and one ORDER BY, by [`RankExec`]; everything else stays DataFusion's. `RankExec` keeps the
//! window's schema, properties and input requirements, so the plan around it is unchanged. The
//! numbers follow SQL: ROW_NUMBER counts rows from 1; RANK is 1 + the rows before the row's
//! peer group (rows with equal ORDER BY values; NULLs are peers of each other); DENSE_RANK
//! counts peer groups. Partition and ORDER BY values are compared in Arrow's row format, where
//! equal values have equal bytes.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::row::{OwnedRow, RowConverter, Rows, SortField};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::window::StandardWindowExpr;
use datafusion::physical_expr::{OrderingRequirements, PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::metrics::{
    BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet, RecordOutput,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::windows::{BoundedWindowAggExec, WindowUDFExpr};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputDistributionRequirements, InputOrderMode,
    PlanProperties,
};
use futures::StreamExt;

/// The physical optimizer rule: sorted ROW_NUMBER/RANK/DENSE_RANK windows become [`RankExec`].
#[derive(Debug, Default)]
pub struct NumberSortedPartitions;

impl PhysicalOptimizerRule for NumberSortedPartitions {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let replaced = node
                .downcast_ref::<BoundedWindowAggExec>()
                .map(RankExec::try_from_window)
                .transpose()?
                .flatten();
            Ok(match replaced {
                Some(exec) => Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "NumberSortedPartitions"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Which number a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RowNumber,
    Rank,
    DenseRank,
}

impl Kind {
    fn of(name: &str) -> Option<Self> {
        match name {
            "row_number" => Some(Self::RowNumber),
            "rank" => Some(Self::Rank),
            "dense_rank" => Some(Self::DenseRank),
            _ => None,
        }
    }
}

/// The operator: the input's columns followed by one `UInt64` column per [`Kind`], numbered
/// per partition (module documentation).
#[derive(Debug)]
pub struct RankExec {
    input: Arc<dyn ExecutionPlan>,
    kinds: Vec<Kind>,
    partition_by: Vec<Arc<dyn PhysicalExpr>>,
    order_by: Vec<PhysicalSortExpr>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    ordering: Vec<Option<OrderingRequirements>>,
    distribution: InputDistributionRequirements,
    metrics: ExecutionPlanMetricsSet,
}

impl RankExec {
    /// The operator that replaces `window`, or `None` when `window` is not one it numbers.
    pub fn try_from_window(window: &BoundedWindowAggExec) -> Result<Option<Self>> {
        if window.input_order_mode != InputOrderMode::Sorted {
            return Ok(None);
        }
        let exprs = window.window_expr();
        let Some(head) = exprs.first() else {
            return Ok(None);
        };
        let mut kinds = Vec::with_capacity(exprs.len());
        for e in exprs {
            let kind = e
                .as_any()
                .downcast_ref::<StandardWindowExpr>()
                .and_then(|s| {
                    s.get_standard_func_expr()
                        .as_any()
                        .downcast_ref::<WindowUDFExpr>()
                })
                .and_then(|u| Kind::of(u.fun().name()));
            let Some(kind) = kind else {
                return Ok(None);
            };
            if e.field()?.data_type() != &DataType::UInt64
                || !same_exprs(e.partition_by(), head.partition_by())
                || e.order_by() != head.order_by()
            {
                return Ok(None);
            }
            kinds.push(kind);
        }
        if head.partition_by().is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            input: Arc::clone(window.input()),
            kinds,
            partition_by: head.partition_by().to_vec(),
            order_by: head.order_by().to_vec(),
            schema: window.schema(),
            properties: Arc::clone(window.properties()),
            ordering: window.required_input_ordering(),
            distribution: window.input_distribution_requirements(),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }
}

fn same_exprs(a: &[Arc<dyn PhysicalExpr>], b: &[Arc<dyn PhysicalExpr>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.as_ref() == y.as_ref())
}

impl DisplayAs for RankExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let list = |items: Vec<String>| items.join(", ");
        write!(
            f,
            "RankExec: {:?} partition_by=[{}] order_by=[{}]",
            self.kinds,
            list(self.partition_by.iter().map(|e| e.to_string()).collect()),
            list(self.order_by.iter().map(|e| e.to_string()).collect()),
        )
    }
}

impl ExecutionPlan for RankExec {
    fn name(&self) -> &str {
        "RankExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn required_input_ordering(&self) -> Vec<Option<OrderingRequirements>> {
        self.ordering.clone()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        self.distribution.clone()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        let exprs = self
            .partition_by
            .iter()
            .chain(self.order_by.iter().map(|s| &s.expr));
        for e in exprs {
            if f(e)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Ok([input]) = <[_; 1]>::try_from(children) else {
            return Err(DataFusionError::Internal("RankExec takes one input".into()));
        };
        Ok(Arc::new(Self {
            input,
            kinds: self.kinds.clone(),
            partition_by: self.partition_by.clone(),
            order_by: self.order_by.clone(),
            schema: Arc::clone(&self.schema),
            properties: Arc::clone(&self.properties),
            ordering: self.ordering.clone(),
            distribution: self.distribution.clone(),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let fields = |exprs: Vec<(DataType, _)>| {
            RowConverter::new(
                exprs
                    .into_iter()
                    .map(|(t, o)| SortField::new_with_options(t, o))
                    .collect(),
            )
        };
        let in_schema = self.input.schema();
        let mut parts = Vec::with_capacity(self.partition_by.len());
        for e in &self.partition_by {
            parts.push((e.data_type(&in_schema)?, Default::default()));
        }
        let mut orders = Vec::with_capacity(self.order_by.len());
        for s in &self.order_by {
            orders.push((s.expr.data_type(&in_schema)?, s.options));
        }
        let mut counter = Counter {
            kinds: self.kinds.clone(),
            partition_by: self.partition_by.clone(),
            order_by: self.order_by.iter().map(|s| Arc::clone(&s.expr)).collect(),
            parts: fields(parts)?,
            peers: if self.order_by.is_empty() {
                None
            } else {
                Some(fields(orders)?)
            },
            schema: Arc::clone(&self.schema),
            last_part: None,
            last_peer: None,
            row_number: 0,
            rank: 0,
            dense_rank: 0,
            metrics: BaselineMetrics::new(&self.metrics, partition),
        };
        let stream = input.map(move |batch| counter.number(batch?));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// The numbering state of one output partition, carried from batch to batch.
struct Counter {
    kinds: Vec<Kind>,
    partition_by: Vec<Arc<dyn PhysicalExpr>>,
    order_by: Vec<Arc<dyn PhysicalExpr>>,
    parts: RowConverter,
    /// `None` without ORDER BY: every row of a partition is a peer of every other.
    peers: Option<RowConverter>,
    schema: SchemaRef,
    /// The previous row's partition and ORDER BY values.
    last_part: Option<OwnedRow>,
    last_peer: Option<OwnedRow>,
    row_number: u64,
    rank: u64,
    dense_rank: u64,
    metrics: BaselineMetrics,
}

impl Counter {
    fn encode(
        conv: &RowConverter,
        exprs: &[Arc<dyn PhysicalExpr>],
        batch: &RecordBatch,
    ) -> Result<Rows> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(exprs.len());
        for e in exprs {
            columns.push(e.evaluate(batch)?.into_array(batch.num_rows())?);
        }
        Ok(conv.convert_columns(&columns)?)
    }

    /// `batch` with its number columns appended.
    fn number(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let timer = self.metrics.elapsed_compute().timer();
        let n = batch.num_rows();
        let parts = Self::encode(&self.parts, &self.partition_by, &batch)?;
        let peers = match &self.peers {
            Some(conv) => Some(Self::encode(conv, &self.order_by, &batch)?),
            None => None,
        };
        let mut out: Vec<Vec<u64>> = vec![Vec::with_capacity(n); self.kinds.len()];
        for i in 0..n {
            let part = parts.row(i);
            let new_part = if i == 0 {
                self.last_part.as_ref().is_none_or(|p| p.row() != part)
            } else {
                parts.row(i - 1) != part
            };
            let new_peer = match &peers {
                None => false,
                Some(p) if i == 0 => self.last_peer.as_ref().is_none_or(|l| l.row() != p.row(0)),
                Some(p) => p.row(i - 1) != p.row(i),
            };
            if new_part {
                self.row_number = 1;
                self.rank = 1;
                self.dense_rank = 1;
            } else {
                self.row_number += 1;
                if new_peer {
                    self.rank = self.row_number;
                    self.dense_rank += 1;
                }
            }
            for (column, kind) in out.iter_mut().zip(&self.kinds) {
                column.push(match kind {
                    Kind::RowNumber => self.row_number,
                    Kind::Rank => self.rank,
                    Kind::DenseRank => self.dense_rank,
                });
            }
        }
        if n > 0 {
            self.last_part = Some(parts.row(n - 1).owned());
            self.last_peer = peers.map(|p| p.row(n - 1).owned());
        }
        let mut columns = batch.columns().to_vec();
        columns.extend(
            out.into_iter()
                .map(|c| Arc::new(UInt64Array::from(c)) as ArrayRef),
        );
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
        timer.done();
        Ok(batch.record_output(&self.metrics))
    }
}

#[cfg(test)]
#[path = "rank_tests.rs"]
mod tests;
