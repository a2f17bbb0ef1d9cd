//! Repeated aggregates computed once: a physical optimizer rule that finds identical grouped
//! aggregations in one plan and has them run once, their output read by every place that
//! used one.
//!
//! DataFusion 55 inlines a common table expression at each of its references, so a CTE read
//! twice is planned and executed twice. dwd_order_latest reads its `repeated` CTE (a GROUP BY
//! of every landed order id with `HAVING COUNT(*) > 1`) from two joins: two hash aggregations
//! of 19.75 M ids at a million customers, about half of the stage's CPU (bench/NOTES.md).
//! DuckDB materializes a CTE that is referenced more than once and aggregates; this is the
//! same decision made on the physical plan.
//!
//! The rule ([`ShareRepeatedAggregates`]) runs among DataFusion's own rules, just before dynamic
//! filters are pushed into scans (see [`optimizer_rules`]). It fingerprints
//! every subtree whose root is a final grouped aggregation (optionally under filters,
//! projections and batch coalescing: a `HAVING` and its column list) by its full plan text and
//! output schema; a fingerprint seen at least twice is replaced at each place by a
//! [`SharedExec`] over one copy. Subtrees that already hold a dynamic filter (set at run time by
//! the join above them, so two copies may not filter alike) or a volatile function are left
//! alone.
//!
//! At run time each partition of the shared input is executed once, by whichever reader asks
//! first; its batches are kept until every reader has taken them, so memory holds at most the
//! distance between the slowest and the fastest reader (the whole output when one reader is a
//! hash join's build side that the other waits behind). What is kept is reported to the memory
//! pool without refusal: the readers that hold the same batches (a join's build side) reserve
//! them as well, and refusing here would fail a stage that would otherwise have run.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, displayable,
};
use futures::StreamExt;

/// DataFusion's physical optimizer rules with [`ShareRepeatedAggregates`] placed before the
/// pass that pushes dynamic filters (the join filters set at run time) into scans: a filter
/// from one reader must not reach a subtree that other readers share, and DataFusion stops
/// filters at an operator that does not accept them, as [`SharedExec`] does not. Run after that
/// pass, the rule found the probe side of a join already filtered and could not share it. Also
/// [`super::rank::NumberSortedPartitions`], just before the final plan check (sorted
/// ROW_NUMBER/RANK/DENSE_RANK windows numbered by comparing neighbouring rows).
pub fn optimizer_rules() -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    let mut rules = datafusion::physical_optimizer::optimizer::PhysicalOptimizer::new().rules;
    let at = rules
        .iter()
        .position(|r| r.name() == "FilterPushdown(Post)")
        .unwrap_or(rules.len());
    rules.insert(at, Arc::new(ShareRepeatedAggregates));
    // Once sorting is settled (EnforceSorting and the rules after it), before the final check
    // of every operator's input requirements.
    let at = rules
        .iter()
        .position(|r| r.name() == "SanityCheckPlan")
        .unwrap_or(rules.len());
    rules.insert(at, Arc::new(super::rank::NumberSortedPartitions));
    rules
}

/// The physical optimizer rule: identical final aggregations in one plan run once.
#[derive(Debug, Default)]
pub struct ShareRepeatedAggregates;

impl PhysicalOptimizerRule for ShareRepeatedAggregates {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        plan.apply(|node| {
            if let Some(key) = shareable(node)?.and_then(|(c, _)| fingerprint(&c)) {
                *seen.entry(key).or_default() += 1;
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        if seen.values().all(|&n| n < 2) {
            return Ok(plan);
        }
        // Top down, so the largest repeated subtree is shared and nothing inside it again.
        let mut shared: HashMap<String, Arc<Shared>> = HashMap::new();
        let rewritten = plan.transform_down(|node| {
            let Some((common, projection)) = shareable(&node)? else {
                return Ok(Transformed::no(node));
            };
            let Some(key) = fingerprint(&common) else {
                return Ok(Transformed::no(node));
            };
            if seen.get(&key).copied().unwrap_or(0) < 2 {
                return Ok(Transformed::no(node));
            }
            let state = shared
                .entry(key)
                .or_insert_with(|| Arc::new(Shared::new(common)))
                .clone();
            let reader = state.add_reader();
            let mut exec: Arc<dyn ExecutionPlan> = Arc::new(SharedExec { state, reader });
            if let Some(columns) = projection {
                exec = project(exec, &columns)?;
            }
            Ok(Transformed::new(exec, true, TreeNodeRecursion::Jump))
        })?;
        // A copy of a repeated subtree that ended up with one reader (its other copies were
        // inside a larger shared subtree) is read as before.
        let rewritten = rewritten.data.transform_up(|node| {
            let alone = node
                .downcast_ref::<SharedExec>()
                .filter(|s| s.state.reader_count() == 1)
                .map(|s| s.state.input.clone());
            Ok(match alone {
                Some(input) => Transformed::yes(input),
                None => Transformed::no(node),
            })
        })?;
        for state in shared.values().filter(|s| s.reader_count() > 1) {
            let readers = state.reader_count();
            let line = displayable(state.input.as_ref()).one_line().to_string();
            tracing::debug!(
                readers,
                aggregate = line.trim_end(),
                "repeated aggregate runs once"
            );
        }
        Ok(rewritten.data)
    }

    fn name(&self) -> &str {
        "share_repeated_aggregates"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The subtree at `node` in the form its readers can share, and the columns this reader takes
/// of it: a filter over a final aggregation with a column list of its own (DataFusion folds a
/// projection into the filter, so the `HAVING` of a CTE read once for one column and once for
/// two differs) is shared without the list, which is applied above. Sharing below the filter
/// would keep every group until both readers took it (all 100 M order ids at 5,000,000
/// customers) where the filter keeps a few percent.
type Shareable = Option<(Arc<dyn ExecutionPlan>, Option<Vec<usize>>)>;

fn shareable(node: &Arc<dyn ExecutionPlan>) -> Result<Shareable> {
    if !is_final_aggregate(node) {
        return Ok(None);
    }
    if let Some(filter) = node.downcast_ref::<FilterExec>()
        && let Some(columns) = filter.projection()
        && filter.fetch().is_none()
    {
        let columns = columns.to_vec();
        let whole = FilterExecBuilder::from(filter)
            .apply_projection(None)?
            .build()?;
        return Ok(Some((Arc::new(whole), Some(columns))));
    }
    Ok(Some((node.clone(), None)))
}

/// `columns` of `input`, by position.
fn project(input: Arc<dyn ExecutionPlan>, columns: &[usize]) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = input.schema();
    let exprs = columns.iter().map(|&i| {
        let name = schema.field(i).name().clone();
        let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(&name, i));
        (column, name)
    });
    Ok(Arc::new(ProjectionExec::try_new(exprs, input)?))
}

/// The plan text and schema of a subtree the rule may share, or None.
fn fingerprint(node: &Arc<dyn ExecutionPlan>) -> Option<String> {
    if !is_final_aggregate(node) {
        return None;
    }
    let text = displayable(node.as_ref()).indent(true).to_string();
    // A dynamic filter is filled in by the operator above at run time; volatile functions
    // give each evaluation its own values.
    const UNSHAREABLE: [&str; 4] = ["DynamicFilter", "random(", "uuid(", "now("];
    if UNSHAREABLE.iter().any(|s| text.contains(s)) {
        return None;
    }
    Some(format!("{text}\n{:?}", node.schema()))
}

/// A final (or single-phase) grouped aggregation, possibly under filters, projections and
/// batch coalescing.
fn is_final_aggregate(node: &Arc<dyn ExecutionPlan>) -> bool {
    let mut node = node;
    loop {
        if let Some(agg) = node.downcast_ref::<AggregateExec>() {
            return !agg.group_expr().is_empty()
                && matches!(
                    agg.mode(),
                    AggregateMode::Final
                        | AggregateMode::FinalPartitioned
                        | AggregateMode::Single
                        | AggregateMode::SinglePartitioned
                );
        }
        match node.name() {
            "FilterExec" | "ProjectionExec" | "CoalesceBatchesExec" => {
                let [child] = node.children()[..] else {
                    return false;
                };
                node = child;
            }
            _ => return false,
        }
    }
}

/// The state one shared subtree's readers have in common.
struct Shared {
    input: Arc<dyn ExecutionPlan>,
    /// Readers made by the rule; fixed before the plan runs.
    readers: AtomicUsize,
    /// One entry per output partition, made when the first reader asks for it.
    parts: Mutex<HashMap<usize, Arc<Part>>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("input", &self.input.name())
            .finish()
    }
}

/// One partition of a shared subtree's output.
struct Part {
    /// Batches not yet taken by every reader, and where each reader is.
    kept: Mutex<Kept>,
    /// The input's stream, polled by one reader at a time (None before the first poll and
    /// after the last batch).
    input: futures::lock::Mutex<Option<SendableRecordBatchStream>>,
}

struct Kept {
    batches: VecDeque<RecordBatch>,
    /// The index of `batches[0]` in the partition's output.
    first: usize,
    /// Per reader, the index of the next batch it takes (usize::MAX: done or dropped).
    next: Vec<usize>,
    started: bool,
    done: bool,
    error: Option<Arc<DataFusionError>>,
    memory: Option<MemoryReservation>,
}

impl Kept {
    /// The reader's next kept batch, if it is kept.
    fn take(&mut self, reader: usize) -> Option<RecordBatch> {
        let at = self.next[reader];
        let batch = self.batches.get(at.checked_sub(self.first)?)?.clone();
        self.next[reader] = at + 1;
        self.release();
        Some(batch)
    }

    /// Drops the batches every reader has taken.
    fn release(&mut self) {
        let lowest = self.next.iter().copied().min().unwrap_or(usize::MAX);
        while self.first < lowest {
            let Some(batch) = self.batches.pop_front() else {
                break;
            };
            self.first += 1;
            if let Some(m) = &self.memory {
                m.shrink(kept_size(&batch).min(m.size()));
            }
        }
    }
}

/// The bytes a kept batch holds: its slice of each column, not the whole buffers it shares.
/// An aggregation emits its groups as slices of one set of arrays, and counting each slice's
/// buffers in full (`get_array_memory_size`) reported 7 GB for 300 MB of groups.
fn kept_size(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

impl Shared {
    fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        Self {
            input,
            readers: AtomicUsize::new(0),
            parts: Mutex::new(HashMap::new()),
        }
    }

    fn add_reader(&self) -> usize {
        self.readers.fetch_add(1, Ordering::Relaxed)
    }

    fn reader_count(&self) -> usize {
        self.readers.load(Ordering::Relaxed)
    }

    fn part(&self, partition: usize) -> Arc<Part> {
        let readers = self.reader_count();
        let mut parts = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        parts
            .entry(partition)
            .or_insert_with(|| {
                Arc::new(Part {
                    kept: Mutex::new(Kept {
                        batches: VecDeque::new(),
                        first: 0,
                        next: vec![0; readers],
                        started: false,
                        done: false,
                        error: None,
                        memory: None,
                    }),
                    input: futures::lock::Mutex::new(None),
                })
            })
            .clone()
    }
}

/// One reader of one partition; marks itself done when dropped, so kept batches are released
/// even when the reader stops early.
struct Reader {
    shared: Arc<Shared>,
    part: Arc<Part>,
    partition: usize,
    reader: usize,
    context: Arc<TaskContext>,
}

impl Reader {
    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.part.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn next(&self) -> Option<Result<RecordBatch>> {
        loop {
            {
                let mut kept = self.kept();
                if let Some(batch) = kept.take(self.reader) {
                    return Some(Ok(batch));
                }
                if kept.done {
                    return kept
                        .error
                        .as_ref()
                        .map(|e| Err(DataFusionError::Shared(e.clone())));
                }
            }
            let mut input = self.part.input.lock().await;
            // Another reader may have read on while this one waited for the stream.
            {
                let mut kept = self.kept();
                let behind = kept.next[self.reader] < kept.first + kept.batches.len();
                if behind || kept.done {
                    continue;
                }
                if !kept.started {
                    kept.started = true;
                    match self
                        .shared
                        .input
                        .execute(self.partition, self.context.clone())
                    {
                        Ok(stream) => *input = Some(stream),
                        Err(e) => {
                            kept.done = true;
                            kept.error = Some(Arc::new(e));
                            continue;
                        }
                    }
                    kept.memory = Some(
                        MemoryConsumer::new(format!("SharedExec[{}]", self.partition))
                            .register(self.context.memory_pool()),
                    );
                }
            }
            let polled = match input.as_mut() {
                Some(stream) => stream.next().await,
                // Started, not done, and no stream: never left so by the code above; an error
                // rather than a silent end of the readers' rows.
                None => Some(Err(DataFusionError::Internal(
                    "a shared aggregation's input has no stream before its end".into(),
                ))),
            };
            let mut kept = self.kept();
            match polled {
                Some(Ok(batch)) => {
                    if let Some(m) = &kept.memory {
                        m.grow(kept_size(&batch));
                    }
                    kept.batches.push_back(batch);
                }
                Some(Err(e)) => {
                    kept.done = true;
                    kept.error = Some(Arc::new(e));
                    *input = None;
                }
                None => {
                    kept.done = true;
                    *input = None;
                }
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut kept = self.kept();
        kept.next[self.reader] = usize::MAX;
        kept.release();
    }
}

/// One place where a shared subtree is read: reader `reader` of the subtree's output.
#[derive(Debug)]
pub struct SharedExec {
    state: Arc<Shared>,
    reader: usize,
}

impl SharedExec {
    /// The subtree read here; the same plan for every reader of it.
    pub fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.state.input
    }
}

impl DisplayAs for SharedExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let readers = self.state.reader_count();
        write!(
            f,
            "SharedExec: reader {} of {readers} (computed once)",
            self.reader + 1
        )
    }
}

impl ExecutionPlan for SharedExec {
    fn name(&self) -> &str {
        "SharedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.state.input.properties()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.state.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match <[_; 1]>::try_from(children) {
            Ok([child]) if Arc::ptr_eq(&child, &self.state.input) => Ok(self),
            // A changed input is no longer the one the other readers share: read it alone. (Its
            // place among the readers is then never taken, and the kept batches stay until the
            // plan is dropped: memory, not rows.)
            Ok([child]) => Ok(child),
            Err(c) => Err(DataFusionError::Internal(format!(
                "SharedExec takes one input, got {}",
                c.len()
            ))),
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let reader = Reader {
            shared: self.state.clone(),
            part: self.state.part(partition),
            partition,
            reader: self.reader,
            context,
        };
        let stream = futures::stream::unfold(reader, |r| async move {
            let item = r.next().await?;
            Some((item, r))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.state.input.schema(),
            stream,
        )))
    }
}

#[cfg(test)]
#[path = "shared_tests.rs"]
mod tests;
