//! The Ballista engine (cargo feature `ballista`): a run's stages executed on an Apache
//! DataFusion Ballista cluster, and strata's own cluster processes.
//!
//! The client side is one function, [`remote_session`]: the session a run executes its stages
//! in, whose physical planner hands every query to the scheduler. Everything else a run does
//! (validation, checks, publishing, the lock, run records) is the same code as with the embedded
//! engine. A stage's `COPY` plan travels whole, so the executors write its files straight to
//! the warehouse's staging directory; the client publishes them as it publishes its own.
//!
//! Stock Ballista processes cannot run strata's plans: they know neither strata's sources (read
//! with strata's reading rules), nor its functions. [`run_scheduler`] and [`run_executor`]
//! (`strata scheduler`, `strata executor`) are Ballista's scheduler and executor with strata's
//! plan codec ([`codec`]) and an object store registry that opens `s3://` buckets from the
//! standard AWS variables, as the client does.

pub mod codec;
mod stage_exec;
mod watch;
mod wire;

pub use watch::ClusterWatch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use url::Url;

use crate::error::{Result, StrataError};
use crate::model::SchedulerUrl;

/// The session of a run on the cluster behind `scheduler`: `config` and `runtime` as the
/// embedded engine would use them (the options travel with each job), strata's plan codec, and
/// Ballista's planner in place of DataFusion's. Functions are registered by the caller, after
/// this (Ballista's upgrade replaces the session's function list). The session carries a
/// [`ClusterWatch`] waiting `executor_wait` at most for the cluster to run something.
pub fn remote_session(
    config: SessionConfig,
    runtime: Arc<RuntimeEnv>,
    scheduler: &SchedulerUrl,
    executor_wait: std::time::Duration,
) -> Result<SessionContext> {
    let engine_err = |source| StrataError::Engine { source };
    reachable(scheduler)?;
    let url = scheduler_endpoint(scheduler);
    let mut config = config;
    // Dynamic filters (a join's build side filtering its probe side's scan) live in one
    // process; Ballista's scheduler re-plans joins after DataFusion built them and refused
    // ("Cannot swap HashJoinExec inputs after dynamic filters have been constructed").
    config
        .options_mut()
        .optimizer
        .enable_dynamic_filter_pushdown = false;
    let config = config
        .with_ballista_logical_extension_codec(Arc::new(codec::LogicalCodec::default()))
        .with_ballista_physical_extension_codec(Arc::new(codec::PhysicalCodec::default()))
        .with_ballista_job_name("strata")
        .with_extension(Arc::new(ClusterWatch::new(
            scheduler.clone(),
            executor_wait,
        )))
        // The static distributed planner: Ballista 55's adaptive planner lost the status of
        // tasks whose plans it had rewritten ("task metrics array size 11 does not equal with
        // the stage metrics array size 10") and left the job waiting for them forever.
        .with_ballista_adaptive_query_planner(false);
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build()
        .upgrade_for_ballista(url)
        .map_err(engine_err)?;
    Ok(SessionContext::new_with_state(state))
}

/// Refuses a run whose scheduler does not answer, before the run takes the lock (a TCP connect
/// to its gRPC port, 5 s at most per address).
fn reachable(scheduler: &SchedulerUrl) -> Result<()> {
    use std::net::{TcpStream, ToSocketAddrs};
    let unreachable = |reason: String| StrataError::SchedulerUnreachable {
        scheduler: scheduler.to_string(),
        reason,
    };
    let addrs = (scheduler.host.as_str(), scheduler.port)
        .to_socket_addrs()
        .map_err(|e| unreachable(e.to_string()))?;
    let mut last = String::from("the host name has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{addr}: {e}"),
        }
    }
    Err(unreachable(last))
}

/// `df://host:port` as the gRPC endpoint Ballista's client dials.
fn scheduler_endpoint(scheduler: &SchedulerUrl) -> String {
    if scheduler.host.contains(':') {
        format!("http://[{}]:{}", scheduler.host, scheduler.port)
    } else {
        format!("http://{}:{}", scheduler.host, scheduler.port)
    }
}

/// The object stores of a cluster node: local files, and `s3://` buckets opened on first use
/// from the standard AWS variables (`AWS_ENDPOINT_URL`, credentials, region), as the client
/// opens the warehouse.
#[derive(Debug, Default)]
pub struct NodeStores {
    local: Arc<LocalFileSystem>,
    buckets: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl ObjectStoreRegistry for NodeStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        let key = url.host_str().unwrap_or_default().to_string();
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, store)
    }

    fn deregister_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        let key = url.host_str().unwrap_or_default();
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .ok_or_else(|| DataFusionError::Execution(format!("no object store for {url}")))
    }

    fn get_store(&self, url: &Url) -> DfResult<Arc<dyn ObjectStore>> {
        match url.scheme() {
            "file" | "" => Ok(self.local.clone()),
            "s3" => {
                let bucket = url.host_str().ok_or_else(|| {
                    DataFusionError::Execution(format!("{url}: an s3 URL needs a bucket"))
                })?;
                let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(store) = buckets.get(bucket) {
                    return Ok(store.clone());
                }
                let store: Arc<dyn ObjectStore> = Arc::new(
                    crate::storage::s3_store(bucket)
                        .map_err(|e| DataFusionError::Execution(format!("{url}: {e}")))?,
                );
                buckets.insert(bucket.to_string(), store.clone());
                Ok(store)
            }
            other => Err(DataFusionError::Execution(format!(
                "{url}: a cluster node reads file:// and s3:// only, not {other}://"
            ))),
        }
    }
}

/// A node's runtime: its object stores and its spill directory. Ballista wraps it with each
/// task's memory pool.
fn node_runtime(work_dir: Option<String>, stores: Arc<NodeStores>) -> DfResult<Arc<RuntimeEnv>> {
    let mut builder = RuntimeEnvBuilder::new().with_object_store_registry(stores);
    if let Some(dir) = work_dir {
        builder = builder.with_temp_file_path(dir);
    }
    Ok(Arc::new(builder.build()?))
}

/// The scheduler's session for a job: the client's options, the node's object stores.
fn node_state(config: SessionConfig, stores: Arc<NodeStores>) -> DfResult<SessionState> {
    Ok(SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(node_runtime(None, stores)?)
        .with_default_features()
        .build())
}

/// `strata scheduler`'s settings (Ballista's scheduler flags of the same names).
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    pub bind_host: String,
    pub bind_port: u16,
    /// The host name executors and clients reach this scheduler at.
    pub external_host: String,
    /// Seconds without a heartbeat after which an executor is considered lost.
    pub executor_timeout_seconds: u64,
    /// Times a task may fail (retryably) before its stage fails.
    pub task_max_failures: usize,
    /// Attempts of a stage whose tasks could not fetch their input from a lost executor. strata
    /// passes 1 by default: Ballista 55 resubmitting such a stage and its input stage could
    /// leave the job waiting for ever, with the surviving executor's task slots held.
    pub stage_max_failures: usize,
}

/// Run a scheduler until the process is stopped.
pub async fn run_scheduler(settings: SchedulerSettings) -> Result<()> {
    let address: SocketAddr = format!("{}:{}", settings.bind_host, settings.bind_port)
        .parse()
        .map_err(|e: std::net::AddrParseError| node_err("scheduler", e))?;
    let stores = Arc::new(NodeStores::default());
    let mut config = SchedulerConfig {
        bind_host: settings.bind_host.clone(),
        bind_port: settings.bind_port,
        external_host: settings.external_host.clone(),
        executor_timeout_seconds: settings.executor_timeout_seconds,
        no_executors_grace_period_seconds: settings.executor_timeout_seconds,
        task_max_failures: settings.task_max_failures.max(1),
        stage_max_failures: settings.stage_max_failures.max(1),
        ..SchedulerConfig::default()
    };
    // Look for lost executors at least twice per timeout.
    config.expire_dead_executor_interval_seconds = config
        .expire_dead_executor_interval_seconds
        .min((settings.executor_timeout_seconds / 2).max(1));
    config.override_logical_codec = Some(Arc::new(codec::LogicalCodec::default()));
    config.override_physical_codec = Some(Arc::new(codec::PhysicalCodec::default()));
    config.override_session_builder = Some(Arc::new(move |c| node_state(c, stores.clone())));
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| node_err("scheduler", e))?;
    start_server(cluster, address, Arc::new(config))
        .await
        .map_err(|e| node_err("scheduler", e))
}

/// `strata executor`'s settings (Ballista's executor flags of the same names).
#[derive(Debug, Clone)]
pub struct ExecutorSettings {
    pub scheduler_host: String,
    pub scheduler_port: u16,
    pub bind_host: String,
    pub external_host: Option<String>,
    /// The Arrow Flight port (shuffle reads).
    pub bind_port: u16,
    pub bind_grpc_port: u16,
    /// Task slots; default: one per core.
    pub vcores: Option<usize>,
    /// Shuffle files and spills.
    pub work_dir: Option<String>,
    /// Bytes of the memory pool shared by the executor's tasks; default: Ballista's share of
    /// the machine's memory.
    pub memory_pool_size: Option<u64>,
    pub heartbeat_interval_seconds: u64,
}

/// Run an executor until the process is stopped.
pub async fn run_executor(settings: ExecutorSettings) -> Result<()> {
    let stores = Arc::new(NodeStores::default());
    let work_dir = settings.work_dir.clone();
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        scheduler_host: settings.scheduler_host,
        scheduler_port: settings.scheduler_port,
        bind_host: settings.bind_host,
        external_host: settings.external_host,
        port: settings.bind_port,
        grpc_port: settings.bind_grpc_port,
        vcores: settings.vcores.unwrap_or(defaults.vcores),
        work_dir: settings.work_dir,
        memory_pool_size: settings.memory_pool_size,
        executor_heartbeat_interval_seconds: settings.heartbeat_interval_seconds,
        scheduler_connect_timeout_seconds: 60,
        override_logical_codec: Some(Arc::new(codec::LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(codec::PhysicalCodec::default())),
        // Every function a session with DataFusion's default features has (Ballista's default
        // registry lacks the nested ones, such as array_to_string); strata's own travel with
        // the plan.
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(
            &SessionStateBuilder::new().with_default_features().build(),
        ))),
        override_execution_engine: Some(Arc::new(stage_exec::StageEngine::default())),
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| {
            node_runtime(work_dir.clone(), stores.clone())
        })),
        ..defaults
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(|e| node_err("executor", e))
}

fn node_err(process: &'static str, e: impl std::fmt::Display) -> StrataError {
    StrataError::ClusterNode {
        process,
        message: e.to_string(),
    }
}
