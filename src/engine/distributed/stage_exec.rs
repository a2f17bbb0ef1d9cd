//! The executors' execution engine: Ballista's own, reporting no per-operator metrics.
//!
//! Ballista 55's scheduler restricts a stage's plan to each task's partitions (a union keeps
//! the inputs of the task's partitions only), so two tasks of one stage can report different
//! numbers of operator metric sets; the scheduler then refuses the second task's status ("task
//! metrics array size 25 does not equal with the stage metrics array size 24") and the job
//! waits for that task forever. An empty metrics list is the case the scheduler skips, so the
//! tasks of a stage always complete. What is lost is the per-operator view of Ballista's own
//! tooling; strata's stage lines (rows, files, bytes, time) come from the client.

use std::fmt;
use std::sync::Arc;

use ballista_core::JobId;
use ballista_core::serde::protobuf::ShuffleWritePartition;
use ballista_executor::execution_engine::{
    DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor,
};
use datafusion::common::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;

/// Ballista's default engine, with every query stage wrapped in [`Unmetered`].
#[derive(Default)]
pub struct StageEngine {
    inner: DefaultExecutionEngine,
}

impl ExecutionEngine for StageEngine {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> DfResult<Arc<dyn QueryStageExecutor>> {
        let inner = self.inner.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(Unmetered { inner }))
    }
}

/// A query stage that reports no operator metrics (see the module documentation).
#[derive(Debug)]
pub struct Unmetered {
    inner: Arc<dyn QueryStageExecutor>,
}

impl fmt::Display for Unmetered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for Unmetered {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<Vec<ShuffleWritePartition>> {
        self.inner.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(
        &self,
    ) -> Vec<ballista_core::serde::protobuf::RuntimeStatsReport> {
        self.inner.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(
        &self,
    ) -> DfResult<Vec<ballista_core::serde::protobuf::WindowStateReport>> {
        self.inner.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<ballista_core::serde::protobuf::TaskColumnStats> {
        self.inner.collect_column_stats()
    }
}
