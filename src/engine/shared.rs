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
//! The rule ([`ShareRepeatedAggregates`]) runs after DataFusion's own rules. It fingerprints
//! every subtree whose root is a final grouped aggregation (optionally under filters,
//! projections and batch coalescing: a `HAVING` and its column list) by its full plan text and
//! output schema; a fingerprint seen at least twice is replaced at each place by a
//! [`SharedExec`] over one copy. Subtrees that hold a dynamic filter (set at run time by the
//! join above them, so two copies may not filter alike) or a volatile function are left alone.
//!
//! At run time each partition of the shared input is executed once, by whichever reader asks
//! first; its batches are kept until every reader has taken them, so memory holds at most the
//! distance between the slowest and the fastest reader (the whole output when one reader is a
//! hash join's build side that the other waits behind). What is kept is reported to the memory
//! pool without refusal: the readers that hold the same batches (a join's build side) reserve
//! them as well, and refusing here would fail a stage that would otherwise have run.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, displayable,
};
use futures::StreamExt;

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
            if let Some(key) = fingerprint(node) {
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
            let Some(key) = fingerprint(&node) else {
                return Ok(Transformed::no(node));
            };
            if seen.get(&key).copied().unwrap_or(0) < 2 {
                return Ok(Transformed::no(node));
            }
            let state = shared
                .entry(key)
                .or_insert_with(|| Arc::new(Shared::new(node.clone())))
                .clone();
            let reader = state.add_reader();
            let exec: Arc<dyn ExecutionPlan> = Arc::new(SharedExec { state, reader });
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
    readers: Mutex<usize>,
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
            readers: Mutex::new(0),
            parts: Mutex::new(HashMap::new()),
        }
    }

    fn add_reader(&self) -> usize {
        let mut n = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        *n - 1
    }

    fn reader_count(&self) -> usize {
        *self.readers.lock().unwrap_or_else(|e| e.into_inner())
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
                None => None,
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
            // A changed input is no longer the one the other readers share: read it alone.
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
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_plan::collect;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    /// A session with the rule, two partitions, and `t(k, v)` in two batches.
    fn session(keys: &[&str]) -> SessionContext {
        let state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(2))
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(ShareRepeatedAggregates))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, false),
        ]));
        let batch = |ks: &[&str], from: i64| {
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(ks.to_vec())),
                    Arc::new(Int64Array::from_iter_values(from..from + ks.len() as i64)),
                ],
            )
            .unwrap()
        };
        let half = keys.len() / 2;
        let table = MemTable::try_new(
            schema.clone(),
            vec![
                vec![batch(&keys[..half], 0)],
                vec![batch(&keys[half..], half as i64)],
            ],
        )
        .unwrap();
        ctx.register_table("t", Arc::new(table)).unwrap();
        ctx
    }

    /// The shape of dwd_order_latest: keys landed once pass, keys landed more than once are
    /// joined with their count.
    const TWO_PHASE: &str =
        "WITH r AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k HAVING COUNT(*) > 1)
        SELECT t.k, r.n FROM r RIGHT JOIN t ON r.k = t.k WHERE r.n IS NULL
        UNION ALL
        SELECT t.k, r.n FROM r JOIN t ON r.k = t.k
        ORDER BY k, n";

    async fn run(ctx: &SessionContext, sql: &str) -> (String, Result<String>) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.create_physical_plan().await.unwrap();
        let text = displayable(plan.as_ref()).indent(true).to_string();
        let rows = collect(plan, ctx.task_ctx())
            .await
            .map(|b| pretty_format_batches(&b).unwrap().to_string());
        (text, rows)
    }

    #[tokio::test]
    async fn a_cte_aggregated_and_read_twice_runs_once_with_the_same_rows() {
        let ctx = session(&["a", "c", "b", "a", "c", "d", "c", "e", "f", "g"]);
        let (plan, rows) = run(&ctx, TWO_PHASE).await;
        assert!(plan.contains("SharedExec: reader 1 of 2"), "{plan}");
        assert!(plan.contains("SharedExec: reader 2 of 2"), "{plan}");
        // By hand: a twice, c three times (each row with its count), b d e f g once (NULL).
        let expected = "\
+---+---+
| k | n |
+---+---+
| a | 2 |
| a | 2 |
| b |   |
| c | 3 |
| c | 3 |
| c | 3 |
| d |   |
| e |   |
| f |   |
| g |   |
+---+---+";
        assert_eq!(rows.unwrap(), expected);
    }

    #[tokio::test]
    async fn kept_groups_are_counted_by_their_slices_not_their_buffers() {
        // 100,000 distinct keys, grouped and read twice under an 8 MB pool: the aggregation
        // emits its groups as slices of one set of arrays (per partition 6 slices of 8,192 rows
        // and a short one, 190 KB each, 2.1 MB of buffers each); counted by their whole
        // buffers the kept slices filled the pool and the aggregation was refused.
        let keys: Vec<String> = (0..100_000).map(|i| format!("key-{i:07}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let pool = Arc::new(datafusion::execution::memory_pool::GreedyMemoryPool::new(8 << 20));
        let runtime = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_memory_pool(pool)
            .build_arc()
            .unwrap();
        let state = SessionStateBuilder::new()
            .with_config(SessionConfig::new().with_target_partitions(2))
            .with_runtime_env(runtime)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(ShareRepeatedAggregates))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let donor = session(&keys);
        ctx.register_table("t", donor.table_provider("t").await.unwrap())
            .unwrap();
        let sql = "WITH g AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k HAVING COUNT(*) > 0)
            SELECT COUNT(*) AS pairs, SUM(a.n + b.n) AS total FROM g a JOIN g b ON a.k = b.k";
        let (plan, rows) = run(&ctx, sql).await;
        assert!(plan.contains("SharedExec"), "{plan}");
        // Every key once on each side: 100,000 pairs, each adding 1 + 1.
        assert!(rows.unwrap().contains("| 100000 | 200000 |"));
    }

    #[tokio::test]
    async fn different_aggregates_are_not_shared() {
        let ctx = session(&["a", "a", "b", "c"]);
        let sql = "SELECT x.k, x.n, y.m FROM
            (SELECT k, COUNT(*) AS n FROM t GROUP BY k) x
            JOIN (SELECT k, MAX(v) AS m FROM t GROUP BY k) y ON x.k = y.k ORDER BY k";
        let (plan, rows) = run(&ctx, sql).await;
        assert!(!plan.contains("SharedExec"), "{plan}");
        // a: rows 0 and 1; b: 2; c: 3 (v is the row number).
        assert!(rows.unwrap().contains("| a | 2 | 1 |"));
    }

    #[tokio::test]
    async fn an_error_reaches_every_reader_and_a_reader_may_stop_early() {
        let ctx = session(&["1", "1", "x", "2"]);
        let failing = "WITH r AS (SELECT k, SUM(CAST(k AS INT)) AS s FROM t GROUP BY k)
            SELECT a.k, a.s, b.s FROM r a JOIN r b ON a.k = b.k";
        let (plan, rows) = run(&ctx, failing).await;
        assert!(plan.contains("SharedExec"), "{plan}");
        let err = rows.unwrap_err().to_string();
        assert!(err.contains("'x'") || err.contains("Cast"), "{err}");
        // One reader takes a single row and stops; the other reads on.
        let ctx = session(&["a", "a", "b", "b", "c", "c"]);
        let early = "WITH r AS (SELECT k, COUNT(*) AS n FROM t GROUP BY k)
            SELECT * FROM (SELECT k FROM r ORDER BY k LIMIT 1)
            UNION ALL SELECT k FROM r ORDER BY k";
        let (_, rows) = run(&ctx, early).await;
        let rows = rows.unwrap();
        assert_eq!(rows.matches("| a |").count(), 2, "{rows}");
        assert_eq!(rows.matches("| c |").count(), 1, "{rows}");
    }
}
