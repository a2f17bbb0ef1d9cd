//! Command-line types (clap derive). Doc comments are the help text; nothing here runs.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// strata: declarative customer-data warehouse pipelines (ODS -> DWD -> DWS -> ADS) on Apache
/// DataFusion.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Print only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output (-v debug for strata, -vv for everything).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Output format of results.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub format: OutputFormat,
    /// Format of log events on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the pipeline file, every stage's SQL and their schemas without reading data.
    Validate(RunValues),
    /// Print the stages in execution order with their inputs and outputs.
    Plan(PlanArgs),
    /// Run the pipeline (or a selection) for one business date, a range, or what is stale.
    Run(RunArgs),
    /// Per stage and date: built, missing or stale, and why.
    Status(StatusArgs),
    /// List sources and published tables with their locations.
    Ls(ProjectArgs),
    /// Print the first rows of a table.
    Show(ShowArgs),
    /// Run an ad-hoc read-only SQL query over all warehouse tables.
    Sql(SqlArgs),
    /// Print why a customer's records are one customer: its records and every merge (masked).
    ExplainCustomer(ExplainArgs),
    /// Create a runnable project in DIR: pipeline, one stage per layer, a sample, a unit test.
    Init(InitArgs),
    /// Add to the project (`strata new stage NAME --layer dws`).
    #[command(subcommand)]
    New(NewCommand),
    /// Run the stage unit tests of tests/stages/*.yaml in memory (all, or these stages').
    Test(TestArgs),
    /// Write the docs site (DAG, tables, columns, lineage, checks, run history); --serve it.
    Docs(DocsArgs),
    /// Column-level lineage: where a column comes from (--upstream) or what uses it (--downstream).
    Lineage(LineageArgs),
    /// List recent runs.
    Runs(RunsArgs),
    /// Show the check results of a run (default: the latest).
    Checks(ChecksArgs),
    /// Make an earlier release current again.
    Rollback(RollbackArgs),
    /// Generate synthetic source extracts.
    Generate(GenerateArgs),
    /// Start a Ballista scheduler that runs strata's plans (`engine: {kind: ballista}`).
    #[cfg(feature = "ballista")]
    Scheduler(SchedulerArgs),
    /// Start a Ballista executor that runs strata's plans, registering with a scheduler.
    #[cfg(feature = "ballista")]
    Executor(ExecutorArgs),
}

/// `strata scheduler`: Ballista's scheduler flags of the same names.
#[cfg(feature = "ballista")]
#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_host: String,
    /// gRPC port clients and executors connect to.
    #[arg(long, default_value_t = 50050)]
    pub bind_port: u16,
    /// Host name clients and executors reach this scheduler at.
    #[arg(long, default_value = "localhost")]
    pub external_host: String,
    /// Seconds without a heartbeat after which an executor is lost and its tasks rescheduled.
    #[arg(long, default_value_t = 180)]
    pub executor_timeout_seconds: u64,
    /// Times a task may fail (retryably) before its stage fails.
    #[arg(long, default_value_t = 4)]
    pub task_max_failures: usize,
    /// Attempts of a stage whose tasks could not fetch their input from a lost executor before
    /// the job fails. Default 1 (Ballista's is 4): in Ballista 55 resubmitting such a stage
    /// could leave the job waiting for ever (docs/cluster.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub stage_max_failures: u64,
}

/// `strata executor`: Ballista's executor flags of the same names.
#[cfg(feature = "ballista")]
#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// Scheduler host.
    #[arg(long, default_value = "localhost")]
    pub scheduler_host: String,
    /// Scheduler port.
    #[arg(long, default_value_t = 50050)]
    pub scheduler_port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_host: String,
    /// Host name other executors and clients fetch shuffle data from (default: the bind host).
    #[arg(long)]
    pub external_host: Option<String>,
    /// Arrow Flight port (shuffle and result reads).
    #[arg(short = 'p', long, default_value_t = 50051)]
    pub bind_port: u16,
    /// gRPC port of the executor's own service.
    #[arg(long, default_value_t = 50052)]
    pub bind_grpc_port: u16,
    /// Concurrent task slots (default: one per core).
    #[arg(long, visible_alias = "concurrent-tasks")]
    pub vcores: Option<usize>,
    /// Directory for shuffle files and spills (default: a temporary directory).
    #[arg(long)]
    pub work_dir: Option<String>,
    /// Memory shared by the executor's tasks, e.g. 8GB (default: Ballista's share of the
    /// machine's memory).
    #[arg(long, value_parser = parse_memory)]
    pub memory_pool_size: Option<u64>,
    /// Seconds between heartbeats to the scheduler.
    #[arg(long, default_value_t = 60)]
    pub executor_heartbeat_interval_seconds: u64,
}

#[cfg(feature = "ballista")]
fn parse_memory(text: &str) -> Result<u64, String> {
    crate::model::types::parse_bytes(text)
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// Pipeline file (default: the only pipelines/*.yaml).
    pub pipeline: Option<PathBuf>,
    /// Warehouse root URL or path (overrides the pipeline file and STRATA_WAREHOUSE).
    #[arg(long)]
    pub warehouse: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunValues {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Business date to run for, YYYY-MM-DD (default: yesterday in the pipeline's time zone).
    #[arg(long, value_parser = parse_ds)]
    pub ds: Option<NaiveDate>,
    /// Set a pipeline variable: --var name=value (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub values: RunValues,
    /// Only these stages: NAME, +NAME (with upstream), NAME+ (with downstream).
    #[arg(long, num_args = 1..)]
    pub select: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub values: RunValues,
    /// Only these stages (plus inputs missing from the warehouse or built for another date): NAME, +NAME, NAME+.
    #[arg(long, num_args = 1..)]
    pub select: Vec<String>,
    /// Print what would run, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Memory limit of the query engine, e.g. 4GB (default: half the machine's memory).
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// Resident memory at which a running stage is stopped, e.g. 6GB (default: the smaller of
    /// 75% of the machine's memory and the larger of 4 x the limit and the limit + 2GB).
    #[arg(long)]
    pub memory_ceiling: Option<String>,
    /// Directory for spill files (default: the system temp directory).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Engine that runs the stages: embedded (in this process) or ballista (overrides
    /// `engine.kind` and STRATA_ENGINE).
    #[arg(long)]
    pub engine: Option<String>,
    /// Ballista scheduler, df://host:port (overrides `engine.scheduler` and STRATA_SCHEDULER).
    #[arg(long)]
    pub scheduler: Option<String>,
    /// Take over the warehouse's run lock even if its holder may still be running.
    #[arg(long)]
    pub break_lock: bool,
    /// Rebuild selected stages even when their code and inputs are unchanged.
    #[arg(long)]
    pub force: bool,
    /// First date of a backfill (with --to): every date in order, one release per date.
    #[arg(long, value_parser = parse_ds, requires = "to", conflicts_with_all = ["ds", "stale", "retry"])]
    pub from: Option<NaiveDate>,
    /// Last date of a backfill (with --from).
    #[arg(long, value_parser = parse_ds, requires = "from")]
    pub to: Option<NaiveDate>,
    /// Rebuild every output `strata status` shows stale, date by date in order.
    #[arg(long, conflicts_with_all = ["ds", "retry", "select"])]
    pub stale: bool,
    /// Rerun what a failed or blocked run did not publish, with its date and variables.
    #[arg(long, value_name = "RUN_ID", conflicts_with_all = ["ds", "select"])]
    pub retry: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub values: RunValues,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// The run id (default: the latest run).
    pub run_id: Option<String>,
    /// Pipeline file (default: the only pipelines/*.yaml).
    #[arg(short, long)]
    pub pipeline: Option<PathBuf>,
    /// Warehouse root URL or path.
    #[arg(long)]
    pub warehouse: Option<String>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The release (run id) to make current (default: the release the current one was built
    /// from).
    #[arg(long)]
    pub to: Option<String>,
    /// Take over the warehouse's run lock even if its holder may still be running.
    #[arg(long)]
    pub break_lock: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Table name (a source or a stage).
    pub table: String,
    /// Number of rows.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Pipeline file (default: the only pipelines/*.yaml).
    #[arg(short, long)]
    pub pipeline: Option<PathBuf>,
    /// Warehouse root URL or path.
    #[arg(long)]
    pub warehouse: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The project directory (created; must be new or empty).
    pub dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// Write sql/<layer>/NAME.sql and add the stage to the pipeline file.
    Stage(NewStageArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageLayer {
    Dwd,
    Dws,
    Ads,
}

#[derive(Debug, Args)]
pub struct NewStageArgs {
    /// The stage (and table) name: lower-case letters, digits and _.
    pub name: String,
    /// The stage's layer.
    #[arg(long, value_enum)]
    pub layer: StageLayer,
    /// Start the query as `SELECT * FROM TABLE` (a source or stage of this or a lower layer).
    #[arg(long)]
    pub from: Option<String>,
    /// One partition per run date (the query must output a DATE column `ds`).
    #[arg(long)]
    pub partitioned: bool,
    /// Pipeline file (default: the only pipelines/*.yaml).
    #[arg(short, long)]
    pub pipeline: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Only the tests of these stages.
    pub stages: Vec<String>,
    /// Pipeline file (default: the only pipelines/*.yaml).
    #[arg(short, long)]
    pub pipeline: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Pipeline file (default: the only pipelines/*.yaml).
    pub pipeline: Option<PathBuf>,
    /// Where to write the site (default: target/docs in the project directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Serve the site on http://127.0.0.1:PORT after writing it, until stopped.
    #[arg(long)]
    pub serve: bool,
    /// The port of --serve (0: any free port).
    #[arg(long, default_value_t = 8080, requires = "serve")]
    pub port: u16,
    /// Warehouse root whose run records give the history (overrides the pipeline file).
    #[arg(long)]
    pub warehouse: Option<String>,
}

#[derive(Debug, Args)]
pub struct LineageArgs {
    /// TABLE or TABLE.COLUMN (a source, seed or stage).
    pub target: String,
    /// Follow the column back to the source columns it is computed from (the default).
    #[arg(long, conflicts_with = "downstream")]
    pub upstream: bool,
    /// Follow the column forward to every column computed from it.
    #[arg(long)]
    pub downstream: bool,
    /// Pipeline file (default: the only pipelines/*.yaml).
    #[arg(short, long)]
    pub pipeline: Option<PathBuf>,
    /// Business date whose source files give undeclared source schemas (default: yesterday).
    #[arg(long, value_parser = parse_ds)]
    pub ds: Option<NaiveDate>,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The customer_id (as in dwd_customer).
    pub customer_id: String,
    /// Pipeline file (default: the only pipelines/*.yaml).
    #[arg(short, long)]
    pub pipeline: Option<PathBuf>,
    /// Warehouse root URL or path.
    #[arg(long)]
    pub warehouse: Option<String>,
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query (SELECT or WITH ... SELECT).
    pub query: String,
    /// Pipeline file (default: the only pipelines/*.yaml).
    #[arg(short, long)]
    pub pipeline: Option<PathBuf>,
    /// Warehouse root URL or path.
    #[arg(long)]
    pub warehouse: Option<String>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub dataset: Dataset,
}

#[derive(Debug, Subcommand)]
pub enum Dataset {
    /// CRM, web shop and ERP extracts with realistic dirty data.
    Crm(GenerateCrmArgs),
}

#[derive(Debug, Args)]
pub struct GenerateCrmArgs {
    /// Number of real customers.
    #[arg(long, default_value_t = 2000)]
    pub customers: usize,
    /// Number of landing days.
    #[arg(long, default_value_t = 395)]
    pub days: u32,
    /// Last landing day, YYYY-MM-DD.
    #[arg(long, value_parser = parse_ds, default_value = "2026-11-21")]
    pub end_date: NaiveDate,
    /// Random seed; the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory of the ODS tables.
    #[arg(long)]
    pub out: PathBuf,
    /// Output directory of the ground truth (default: `truth` next to --out).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Kind of dirt: `default`, or `hostile` (identifiers as real CRMs and shops hold them:
    /// placeholders, default nicknames, chains of accounts, traditional characters, extensions).
    #[arg(long, value_enum, default_value = "default")]
    pub profile: Profile,
    /// Hostile: per customer, an extra stranger account holding only placeholders; per shop
    /// account, a placeholder e-mail (default 0.01 with --profile hostile, else 0).
    #[arg(long, value_parser = parse_rate)]
    pub placeholder_rate: Option<f64>,
    /// Hostile: per customer, an extra customer with a chain of shop accounts (default 0.01).
    #[arg(long, value_parser = parse_rate)]
    pub chain_rate: Option<f64>,
    /// Hostile: the longest chain of accounts, 2..=30 (default 30).
    #[arg(long)]
    pub max_chain: Option<u32>,
    /// Hostile: per record, the company name in traditional characters (default 0.1).
    #[arg(long, value_parser = parse_rate)]
    pub traditional_rate: Option<f64>,
    /// Hostile: per phone, an extension such as `转 801` (default 0.05).
    #[arg(long, value_parser = parse_rate)]
    pub phone_extension_rate: Option<f64>,
    /// Hostile: per record, other brackets and legal forms, +86/0086 prefixes, `mailto:` and
    /// angle brackets on e-mails (default 0.1).
    #[arg(long, value_parser = parse_rate)]
    pub odd_forms_rate: Option<f64>,
}

/// Which dirt `generate crm` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    Default,
    Hostile,
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{text}` is not a probability in [0, 1]")),
    }
}

fn parse_ds(text: &str) -> Result<NaiveDate, String> {
    crate::model::types::parse_date(text)
}
