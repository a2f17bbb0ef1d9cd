//! Library errors. Each variant carries its subject as fields; messages name only their own layer
//! and the cause sits in `#[source]`, so the binary's renderer can walk the chain once.

use std::path::PathBuf;

use datafusion::error::DataFusionError;

use crate::diag::Problem;

#[derive(Debug, thiserror::Error)]
pub enum StrataError {
    #[error("cannot read pipeline file `{}`", path.display())]
    ReadPipeline {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no pipeline file found in `{}`", dir.display())]
    NoPipeline { dir: PathBuf },
    #[error("{} pipeline files found in `{}`; name one", candidates.len(), dir.display())]
    AmbiguousPipeline {
        dir: PathBuf,
        candidates: Vec<PathBuf>,
    },
    /// The project is invalid; every problem found is listed.
    #[error("{} problem{} found", problems.len(), if problems.len() == 1 { "" } else { "s" })]
    Invalid { problems: Vec<Problem> },
    #[error("invalid {argument} `{value}`: {reason}")]
    InvalidArgument {
        argument: String,
        value: String,
        reason: String,
    },
    #[error("invalid warehouse location `{location}`: {reason}")]
    InvalidWarehouse { location: String, reason: String },
    #[error("storage operation `{operation}` failed on `{path}`")]
    Storage {
        operation: &'static str,
        path: String,
        #[source]
        source: object_store::Error,
    },
    #[error("file system operation `{operation}` failed on `{}`", path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up the query engine")]
    Engine {
        #[source]
        source: DataFusionError,
    },
    #[error("cannot read source `{source_name}` at `{location}`")]
    Source {
        source_name: String,
        location: String,
        #[source]
        source: DataFusionError,
    },
    #[error("source `{source_name}` has no data landed on or before {ds} at `{location}`")]
    EmptySource {
        source_name: String,
        location: String,
        ds: String,
    },
    #[error("source `{source_name}` has no partition for ds {ds} at `{location}`")]
    MissingPartition {
        source_name: String,
        location: String,
        ds: String,
    },
    #[error("source `{source_name}`: file `{path}`: {issue}")]
    BadSourceFile {
        source_name: String,
        path: String,
        issue: Box<crate::engine::preflight::FileIssue>,
    },
    #[error(
        "source `{source_name}`: file `{path}` lies outside the partition directories (expected `{expected}` directories)"
    )]
    OutsidePartitions {
        source_name: String,
        path: String,
        expected: String,
    },
    #[error(
        "source `{source_name}`: partition directory `{dir}`: `{value}` is not a {expected} (partition column `{column}`)"
    )]
    BadPartition {
        source_name: String,
        dir: String,
        column: String,
        value: String,
        expected: String,
    },
    #[error(
        "source `{source_name}`: partition directory `{dir}` holds no data file (names starting with `_` or `.` are not data)"
    )]
    HollowPartition { source_name: String, dir: String },
    #[error("source `{source_name}`: file `{path}`{}: {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    BadSeed {
        source_name: String,
        path: String,
        line: Option<usize>,
        reason: String,
        hint: Option<String>,
    },
    #[error("source `{source_name}` failed its checks: {}", failed.join("; "))]
    SourceChecksFailed {
        source_name: String,
        failed: Vec<String>,
    },
    #[error("stage `{stage}` ({}) failed", sql_file.display())]
    Stage {
        stage: String,
        sql_file: PathBuf,
        #[source]
        source: DataFusionError,
    },
    /// A stage failed decoding its input, and the damaged source file was found.
    #[error("stage `{stage}` ({}) failed: {damage}", sql_file.display())]
    DamagedInput {
        stage: String,
        sql_file: PathBuf,
        damage: Box<crate::engine::damage::Damage>,
    },
    #[error(
        "stage `{stage}` ({}) failed: resources exhausted: the process reached {} resident memory, over its ceiling of {} (--memory-ceiling); the stage holds memory the engine's pool does not count, such as a window over a large partition",
        sql_file.display(), crate::report::human_bytes(*resident), crate::report::human_bytes(*ceiling)
    )]
    MemoryCeiling {
        stage: String,
        sql_file: PathBuf,
        resident: u64,
        ceiling: u64,
    },
    #[error("stage `{stage}` panicked inside the query engine: {message}")]
    StagePanic { stage: String, message: String },
    /// A stage's staged files are not the output the engine reported writing (see
    /// `engine::written`).
    #[error("stage `{stage}`: its staged output is not what the engine wrote: {reason}")]
    StagedOutput { stage: String, reason: String },
    #[error("stage `{stage}` wrote rows for ds {found}, but this run is for ds {expected}")]
    PartitionMismatch {
        stage: String,
        expected: String,
        found: String,
    },
    /// A model stage's algorithm could not produce its output (too little data, a failed gate
    /// without an earlier model to keep, a fitting error).
    #[error("model stage `{stage}` ({}) failed: {message}", sql_file.display())]
    Model {
        stage: String,
        sql_file: PathBuf,
        message: String,
    },
    #[error("query failed")]
    Query {
        #[source]
        source: DataFusionError,
    },
    #[error("unknown table `{table}`")]
    UnknownTable {
        table: String,
        suggestion: Option<String>,
    },
    #[error("no customer `{customer_id}` in the current release")]
    UnknownCustomer { customer_id: String },
    #[error("unknown stage `{stage}` in --select")]
    UnknownStage {
        stage: String,
        suggestion: Option<String>,
    },
    #[error("the warehouse has no published release yet")]
    NoRelease,
    #[error("data generation failed")]
    Generate {
        #[source]
        source: crate::generate::GenerateError,
    },
    #[error("the warehouse is locked by {holder}")]
    Locked {
        holder: crate::storage::lock::LockHolder,
    },
    #[error(
        "the run lock was taken over while this run ran (it is held by {holder}); this run published nothing"
    )]
    LockLost { holder: String },
    #[error("the warehouse lock `{path}` is not a lock strata wrote (unreadable)")]
    UnreadableLock { path: String },
    #[error("the warehouse lock changed hands while it was being taken; try again")]
    LockContended,
    #[error(
        "release `{now}` became current while this run was planned on release `{planned_on}`; this run published nothing"
    )]
    ReleaseMoved { planned_on: String, now: String },
    #[error("no release `{run_id}` to roll back to")]
    UnknownRelease {
        run_id: String,
        available: Vec<String>,
    },
    #[error("no run `{run_id}` is recorded")]
    UnknownRun { run_id: String },
    #[error("run `{run_id}` {status}: there is nothing to retry")]
    NothingToRetry { run_id: String, status: String },
    #[error("backfill range {from}..{to} is empty: --from is after --to")]
    EmptyRange { from: String, to: String },
    #[error(
        "this build of strata has no {engine} engine; the run asks for one (scheduler {scheduler})"
    )]
    EngineNotBuilt {
        engine: &'static str,
        scheduler: String,
    },
    #[error("cannot reach the Ballista scheduler at {scheduler}: {reason}")]
    SchedulerUnreachable { scheduler: String, reason: String },
    /// The cluster could not run anything for the run's executor wait: no executor was
    /// registered with the scheduler, or the scheduler stopped answering.
    #[error(
        "the Ballista cluster at {scheduler} could not run anything for {waited_seconds} s{during}: {state}"
    )]
    ClusterStalled {
        scheduler: String,
        /// " while stage `x` ran", or empty before the run's first query.
        during: String,
        waited_seconds: u64,
        state: String,
    },
    /// An executor was lost while a stage's write ran on the cluster (see
    /// `engine::distributed::ClusterWatch::guard`).
    #[error(
        "an executor of the Ballista cluster at {scheduler} was lost while {during} ran \
         ({before} registered before, {after} after): Ballista 55's recovery may re-run the \
         stage's tasks over inputs it then reads twice, so its output is not published (the \
         previous data stays); rerun it with --force"
    )]
    ExecutorLost {
        scheduler: String,
        during: String,
        before: usize,
        after: usize,
    },
    #[error("the Ballista {process} stopped: {message}")]
    ClusterNode {
        process: &'static str,
        message: String,
    },
    #[error("interrupted")]
    Interrupted,
    #[error("cannot encode run record `{}`", path)]
    Record {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StrataError {
    /// Exit code class: invalid input is 1, anything else 2 (see DESIGN.md).
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            StrataError::Invalid { .. }
                | StrataError::InvalidArgument { .. }
                | StrataError::InvalidWarehouse { .. }
                | StrataError::NoPipeline { .. }
                | StrataError::AmbiguousPipeline { .. }
                | StrataError::UnknownTable { .. }
                | StrataError::UnknownCustomer { .. }
                | StrataError::UnknownStage { .. }
                | StrataError::EmptySource { .. }
                | StrataError::MissingPartition { .. }
                | StrataError::BadSourceFile { .. }
                | StrataError::OutsidePartitions { .. }
                | StrataError::BadPartition { .. }
                | StrataError::HollowPartition { .. }
                | StrataError::BadSeed { .. }
                | StrataError::SourceChecksFailed { .. }
                | StrataError::UnknownRelease { .. }
                | StrataError::UnknownRun { .. }
                | StrataError::NothingToRetry { .. }
                | StrataError::EmptyRange { .. }
                | StrataError::EngineNotBuilt { .. }
        )
    }

    /// A hint for the user, when one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            StrataError::UnknownTable {
                suggestion: Some(s),
                ..
            }
            | StrataError::UnknownStage {
                suggestion: Some(s),
                ..
            } => Some(format!("did you mean `{s}`?")),
            StrataError::UnknownTable { .. } => Some("`strata ls` lists the tables".into()),
            StrataError::Storage { path, .. } if path.starts_with("s3://") => Some(
                "check that the bucket exists and that AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
                 AWS_REGION and, for S3-compatible stores, AWS_ENDPOINT_URL \
                 are set"
                    .into(),
            ),
            StrataError::EngineNotBuilt { engine, .. } => Some(format!(
                "the {engine} engine is not part of this build; run in this process with \
                 `--engine embedded` (or `kind: embedded` under `engine:`), or use a strata \
                 built with `--features {engine}` (docs/cluster.md)"
            )),
            StrataError::SchedulerUnreachable { .. } => Some(
                "start one with `strata scheduler` and executors with `strata executor` \
                 (docs/cluster.md), or run in this process with `--engine embedded`"
                    .into(),
            ),
            StrataError::ClusterStalled {
                scheduler, state, ..
            } if state.starts_with("the scheduler does not answer") => Some(format!(
                "check that `strata scheduler` runs at {scheduler} (docs/cluster.md), then \
                 rerun; nothing of this run was published"
            )),
            StrataError::ClusterStalled { scheduler, .. } => Some(format!(
                "start executors with `strata executor --scheduler-host HOST --scheduler-port \
                 PORT` registering with {scheduler} (docs/cluster.md), then rerun; nothing of \
                 this run was published (`executor_wait_seconds` under `engine:` sets how long \
                 a run waits)"
            )),
            StrataError::UnknownCustomer { .. } => {
                Some("customer ids are in dwd_customer (`strata show dwd_customer`)".into())
            }
            StrataError::NoPipeline { .. } => {
                Some("pass the pipeline file, for example `strata run pipelines/crm.yaml`".into())
            }
            StrataError::AmbiguousPipeline { candidates, .. } => Some(format!(
                "candidates: {}",
                candidates
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            StrataError::NoRelease => Some("run the pipeline first: `strata run`".into()),
            StrataError::ReleaseMoved { .. } => {
                Some("run again: it plans on the release that is current now".into())
            }
            StrataError::UnreadableLock { .. } => Some(
                "if no run is using the warehouse, pass --break-lock to take the lock over".into(),
            ),
            StrataError::Locked { .. } => Some(
                "wait for that run to finish; if it is gone for good, pass --break-lock".into(),
            ),
            StrataError::UnknownRelease { available, .. } => Some(if available.is_empty() {
                "no earlier release is kept".to_string()
            } else {
                format!("kept releases: {}", available.join(", "))
            }),
            StrataError::UnknownRun { .. } => Some("`strata runs` lists recorded runs".into()),
            StrataError::BadSourceFile {
                source_name, issue, ..
            } => match issue.as_ref() {
                crate::engine::preflight::FileIssue::Refused { refusal } => {
                    Some(refusal.hint(source_name))
                }
                crate::engine::preflight::FileIssue::Unreadable { .. } => None,
            },
            StrataError::BadPartition { .. } | StrataError::OutsidePartitions { .. } => Some(
                "move the file or directory away, or rename it to start with `_` or `.` (names that are not data)"
                    .into(),
            ),
            StrataError::HollowPartition { source_name, .. } => Some(format!(
                "land the day's files, or declare source `{source_name}` `optional: true`"
            )),
            StrataError::BadSeed { hint, .. } => hint.clone(),
            StrataError::SourceChecksFailed { source_name, .. } => Some(format!(
                "fix the landed data of `{source_name}`; nothing ran and nothing was published"
            )),
            StrataError::EmptySource { .. } => {
                Some("check the landing location, or declare the source `optional: true`".into())
            }
            _ => None,
        }
    }
}

pub type Result<T, E = StrataError> = std::result::Result<T, E>;

/// An error with its causes on one line, `outer: cause: cause` (reqwest's own text is only
/// "builder error" or "error sending request" without them).
pub fn chain_text(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
