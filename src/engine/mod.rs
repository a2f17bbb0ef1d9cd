//! The query engine: one DataFusion `SessionContext` per run, with an explicit memory limit and
//! spill directory, the warehouse's object store, strata's UDFs, and stage SQL restricted to
//! queries (no DDL, DML or COPY).
//!
//! - [`sources`] resolves ODS sources once per run ([`landing`], [`preflight`], [`reconcile`],
//!   [`seed_csv`]) and registers them as [`source_table`]s.
//! - [`validate`] plans every stage against schemas only, before any data is read.
//! - [`stage`] runs one stage and writes its output to staging.
//! - [`udf`] holds the scalar functions stage SQL may call; [`udf_values`] those that read
//!   typed-in values (blank keys, survey scores); [`identity`] the aggregate that resolves
//!   customer records into customers, with [`normalize`] for their match keys.
//! - Operators of strata's own where DataFusion 55 does work per group or per partition rather
//!   than per row: [`first_last`] (the `first_value`/`last_value` grouped accumulator),
//!   [`rank`] (ROW_NUMBER/RANK/DENSE_RANK over sorted input), [`shared`] (repeated aggregates
//!   computed once).

pub mod damage;
#[cfg(feature = "ballista")]
pub mod distributed;
pub mod first_last;
pub mod guard;
pub mod identity;
pub mod landing;
pub mod lineage;
pub mod local_time;
pub mod model;
pub mod normalize;
mod normalize_email;
mod normalize_phone;
pub mod pool;
pub mod portable;
pub mod preflight;
pub mod rank;
pub mod reconcile;
pub mod seed_csv;
pub mod shared;
pub mod source_table;
pub mod sources;
pub mod stage;
pub mod udf;
pub mod udf_months;
pub mod udf_values;
pub mod usage;
pub mod validate;
pub mod written;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::common::ParamValues;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::TrackConsumersPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};

use crate::error::{Result, StrataError};
use crate::model::types::{VarValue, date_scalar};
use crate::model::{Pipeline, SchedulerUrl};
use crate::storage::Warehouse;

/// Where a run's stages execute (`engine.kind`, `--engine`, `STRATA_ENGINE`).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Executor {
    /// DataFusion in the `strata` process.
    #[default]
    Embedded,
    /// A Ballista cluster reached through its scheduler; a run waits `executor_wait_seconds`
    /// at most for it to have an executor (`engine.executor_wait_seconds`, default
    /// [`DEFAULT_EXECUTOR_WAIT_SECONDS`]).
    Ballista {
        scheduler: SchedulerUrl,
        executor_wait_seconds: u64,
    },
}

/// Resolved engine settings for one run.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    pub executor: Executor,
    pub memory_limit: u64,
    /// The resident-memory ceiling of the process, when set explicitly (see [`guard`]).
    pub memory_ceiling: Option<u64>,
    pub target_partitions: usize,
    pub spill_dir: Option<PathBuf>,
    /// Parquet compression as DataFusion spells it, e.g. `zstd(1)`.
    pub compression: String,
}

impl EngineSettings {
    /// Defaults from the machine: half of physical memory (at least 256 MB), one partition per
    /// core, zstd(1).
    pub fn machine_defaults() -> Self {
        Self {
            executor: Executor::Embedded,
            memory_limit: default_memory_limit(),
            memory_ceiling: None,
            target_partitions: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            spill_dir: None,
            compression: "zstd(1)".to_string(),
        }
    }

    /// The resident-memory ceiling: the explicit one, or the default for the limit.
    pub fn ceiling(&self) -> u64 {
        self.memory_ceiling
            .unwrap_or_else(|| guard::default_ceiling(self.memory_limit, machine_memory()))
    }
}

/// The machine's memory, or the process's control group limit when that is lower.
pub fn machine_memory() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| guard::kilobytes(&text, "MemTotal:"))
        .unwrap_or(4 << 30);
    let group = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    group.map_or(total, |g| g.min(total))
}

fn default_memory_limit() -> u64 {
    (machine_memory() / 2).max(256 << 20)
}

/// Below this memory limit joins run as sort-merge joins, which can spill.
pub const SMALL_MEMORY: u64 = 1 << 30;

/// Stage SQL may only query: no DDL, no DML (INSERT/COPY), no SET statements.
pub fn stage_sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// The run's typed parameters: `$ds` and every pipeline variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub ds: NaiveDate,
    pub vars: Vec<(String, VarValue)>,
}

impl Params {
    pub fn to_param_values(&self) -> ParamValues {
        let mut map = HashMap::new();
        map.insert("ds".to_string(), date_scalar(self.ds));
        for (name, value) in &self.vars {
            map.insert(name.clone(), value.to_scalar());
        }
        ParamValues::from(map)
    }
}

/// Refuses an executor this build cannot drive: `Executor::Ballista` in a build without the
/// `ballista` feature ([`StrataError::EngineNotBuilt`]). A run calls it before anything else
/// that executes, so the refusal comes before the lock, even when every stage would be
/// unchanged.
pub fn require_executor(settings: &EngineSettings) -> Result<()> {
    match &settings.executor {
        Executor::Embedded => Ok(()),
        #[cfg(feature = "ballista")]
        Executor::Ballista { .. } => Ok(()),
        #[cfg(not(feature = "ballista"))]
        Executor::Ballista { scheduler, .. } => Err(not_built(scheduler)),
    }
}

#[cfg(not(feature = "ballista"))]
fn not_built(scheduler: &SchedulerUrl) -> StrataError {
    StrataError::EngineNotBuilt {
        engine: "ballista",
        scheduler: scheduler.to_string(),
    }
}

/// How long a run waits, by default, for a Ballista scheduler to have an executor: a minute,
/// enough for executors started with the run to register (they retry every few seconds), and
/// for a restarted executor's first heartbeat.
pub const DEFAULT_EXECUTOR_WAIT_SECONDS: u64 = 60;

/// The session a run executes its stages in. Everything else a run does (validation, checks,
/// publishing, the lock, run records) stays in this process whichever engine runs the stages.
/// On a Ballista cluster it first waits for the scheduler to have an executor
/// ([`StrataError::ClusterStalled`] after the executor wait, before the run takes its lock).
/// Errors as [`require_executor`] for an executor this build cannot drive.
pub async fn run_session(
    settings: &EngineSettings,
    warehouse: &Warehouse,
    pipeline: &Pipeline,
) -> Result<SessionContext> {
    match &settings.executor {
        Executor::Embedded => session(settings, Some(warehouse), pipeline),
        #[cfg(not(feature = "ballista"))]
        Executor::Ballista { scheduler, .. } => Err(not_built(scheduler)),
        #[cfg(feature = "ballista")]
        Executor::Ballista {
            scheduler,
            executor_wait_seconds,
        } => {
            let (config, runtime) = session_parts(settings)?;
            let wait = std::time::Duration::from_secs(*executor_wait_seconds);
            let ctx = distributed::remote_session(config, runtime, scheduler, wait)?;
            ctx.register_object_store(&warehouse.store_url, warehouse.store.clone());
            udf::register_all(&ctx, pipeline);
            if let Some(watch) = distributed::ClusterWatch::of(&ctx) {
                watch.ready().await?;
            }
            Ok(ctx)
        }
    }
}

/// `work` (a stage's audit, a source's checks) run on `ctx`'s engine. The embedded engine
/// runs it as it is. On a Ballista cluster it fails with [`StrataError::ClusterStalled`] when
/// the cluster cannot run anything (no executor registered, or no scheduler answering) for the
/// run's executor wait, where Ballista would leave its job queued for ever; `during` names
/// the work in that error ("stage `dwd_order`").
pub async fn watched<T>(
    ctx: &SessionContext,
    during: &str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    watch(ctx, during, false, work).await
}

/// A stage's execution and write, as [`watched`], and on a Ballista cluster also failing with
/// [`StrataError::ExecutorLost`] when an executor was lost while it ran (its output is then
/// not trusted: see `distributed::ClusterWatch::guard`).
pub async fn watched_write<T>(
    ctx: &SessionContext,
    during: &str,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    watch(ctx, during, true, work).await
}

async fn watch<T>(
    ctx: &SessionContext,
    during: &str,
    losses: bool,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    #[cfg(feature = "ballista")]
    if let Some(watch) = distributed::ClusterWatch::of(ctx) {
        return watch.guard(during, losses, work).await;
    }
    #[cfg(not(feature = "ballista"))]
    let _ = (ctx, during, losses);
    work.await
}

/// Build the run's session: memory pool, spill directory, object store, UDFs.
pub fn session(
    settings: &EngineSettings,
    warehouse: Option<&Warehouse>,
    pipeline: &Pipeline,
) -> Result<SessionContext> {
    let (config, runtime) = session_parts(settings)?;
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        // A CTE read twice is planned twice by DataFusion; its aggregation runs once.
        .with_physical_optimizer_rules(shared::optimizer_rules())
        .build();
    let ctx = SessionContext::new_with_state(state);
    if let Some(wh) = warehouse {
        ctx.register_object_store(&wh.store_url, wh.store.clone());
    }
    udf::register_all(&ctx, pipeline);
    Ok(ctx)
}

/// The configuration and runtime of a run's session, whichever engine runs it.
fn session_parts(
    settings: &EngineSettings,
) -> Result<(
    SessionConfig,
    Arc<datafusion::execution::runtime_env::RuntimeEnv>,
)> {
    let engine_err = |source| StrataError::Engine { source };
    // DATAFUSION_* environment variables tune the engine (for example
    // DATAFUSION_EXECUTION_BATCH_SIZE); strata's own settings are applied on top.
    let mut config = SessionConfig::from_env()
        .map_err(engine_err)?
        .with_target_partitions(settings.target_partitions.max(1))
        .with_information_schema(false);
    if settings.memory_limit < SMALL_MEMORY {
        // Smaller batches keep each spill-merge stream small.
        let batch = config.batch_size().min(2048);
        config = config.with_batch_size(batch);
    }
    let options = config.options_mut();
    if settings.memory_limit < SMALL_MEMORY {
        // Hash joins cannot spill; under a small memory limit sort-merge joins (which can)
        // keep large joins within the limit.
        options.optimizer.prefer_hash_join = false;
        // Every sort reserves this much up front for merging its spill files; with many sorts
        // in one plan the default (10 MB each) alone can exhaust a small pool.
        options.execution.sort_spill_reservation_bytes = 1 << 20;
        // Parquet writers buffer a whole row group before flushing it: keep groups small and
        // write them one at a time.
        options.execution.parquet.max_row_group_size = 128 * 1024;
        options.execution.parquet.maximum_parallel_row_group_writers = 1;
        options
            .execution
            .parquet
            .maximum_buffered_record_batches_per_stream = 2;
    }
    options.sql_parser.collect_spans = true;
    // Strings are read and planned as plain Utf8, not Utf8View. DataFusion counts the shared
    // data buffers of view arrays once per batch that references them, so after a window or a
    // merge the same bytes are reserved many times over: a 200,000-customer RFM stage asked a
    // 256 MB pool for 251 MB for one batch while using 120 MB in all (apache/datafusion#12136,
    // #25271). Plain strings keep the accounting honest and the written files readable by
    // tools that do not know string_view. Functions that return views anyway (md5) are cast
    // back in each stage's output (stage::plain_strings).
    options.execution.parquet.schema_force_view_types = false;
    options.sql_parser.map_string_types_to_utf8view = false;
    options.execution.parquet.compression = Some(settings.compression.clone());
    if matches!(settings.executor, Executor::Ballista { .. }) {
        // Statements are refused, and validated, as the cluster would run them.
        config = config.with_extension(Arc::new(portable::ClusterTarget));
    }
    let mut disk = DiskManagerBuilder::default();
    if let Some(dir) = &settings.spill_dir {
        std::fs::create_dir_all(dir).map_err(|source| StrataError::Io {
            operation: "create spill directory",
            path: dir.clone(),
            source,
        })?;
        disk = disk.with_mode(DiskManagerMode::Directories(vec![dir.clone()]));
    }
    let runtime = RuntimeEnvBuilder::new()
        // Resources-exhausted errors name the largest consumers, so a failing stage says what
        // held the memory.
        .with_memory_pool(Arc::new(TrackConsumersPool::new(
            // Below 1 GB the program's own memory and the allocator's caches are a large part
            // of the limit, and a run stopped at its ceiling (tests/memory.rs, 64 MB) did not
            // come back under it with the watch on: there the pool sees its reservations only.
            if settings.memory_limit >= SMALL_MEMORY {
                pool::HeadroomPool::watching_resident(settings.memory_limit as usize)
            } else {
                pool::HeadroomPool::new(settings.memory_limit as usize)
            },
            NonZeroUsize::new(5).expect("5 is not zero"),
        )))
        .with_disk_manager_builder(disk)
        .build_arc()
        .map_err(engine_err)?;
    Ok((config, runtime))
}
