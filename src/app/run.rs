//! `strata run`: validate everything, then execute the selected stages in order, write, publish
//! and release.
//!
//! A stage that fails does not stop the run: its descendants are skipped and independent
//! branches go on. Passing outputs are published into the run's pending release, which becomes
//! current at the end (see `storage::release`).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::app::audit;
use crate::app::fingerprint::LandedSet;
use crate::app::records::{self, InputStat};
use crate::app::run_inputs::{InputStats, name_damaged_input, register_outputs};
use crate::app::selection::{output_locations, select};
use crate::app::skip::{self, Decisions, Work};
use crate::app::{Project, check_schemas, load_project};
use crate::checks::CheckResult;
use crate::engine::{self, sources, stage};
use crate::error::{Result, StrataError};
use crate::model::Materialization;
use crate::plan::Plan;
use crate::report::error_chain_text;
use crate::settings::{Overrides, RunSettings};
use crate::storage::Warehouse;
use crate::storage::lock::RunLock;
use crate::storage::release::{self, new_run_id};
use crate::storage::release::{PendingRelease, ReleasePointer};
use crate::storage::state::ReleaseState;

/// What the user asked `run` to do.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub overrides: Overrides,
    /// Stage selectors: `name`, `+name` (with ancestors), `name+` (with descendants).
    pub select: Vec<String>,
    pub dry_run: bool,
    /// Take over the run lock even if its holder may still be alive.
    pub break_lock: bool,
    /// Rebuild selected stages even when their code and inputs are unchanged.
    pub force: bool,
}

/// How one stage ended.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StageStatus {
    Succeeded {
        output: stage::StageOutput,
    },
    /// Ran, but an `error` check failed: the output was not published.
    Blocked {
        output: stage::StageOutput,
        failed_checks: Vec<String>,
    },
    Failed {
        error: String,
    },
    Skipped {
        because: String,
    },
    /// Code and input fingerprints equal those of the published output, which is carried into
    /// the new release as is.
    Unchanged {
        provenance: String,
    },
    /// A full table computed as of a past date for that date's partitions; not published (the
    /// published full tables stay as of the warehouse's latest date).
    Scratch {
        output: stage::StageOutput,
    },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StageResult {
    pub stage: String,
    pub layer: String,
    #[serde(flatten)]
    pub status: StageStatus,
    pub inputs: Vec<InputStat>,
    pub checks: Vec<CheckResult>,
    /// The stage's `summary` line, when it declares one.
    pub summary: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub pipeline: String,
    pub ds: String,
    pub dry_run: bool,
    /// The stages to execute, in order (the dry-run answer).
    pub plan: Plan,
    /// Where each planned stage writes, as report tools read it.
    pub outputs: Vec<String>,
    /// How landed files were read where that was not plain (see `sources::SourceAnomaly`).
    pub source_anomalies: Vec<sources::SourceAnomaly>,
    /// The checks declared on sources, run before any stage.
    pub source_checks: Vec<CheckResult>,
    pub stages: Vec<StageResult>,
    pub release: Option<ReleasePointer>,
    /// Set when `ds` is before the date the full tables are as of: that date (they stay so).
    pub past_of: Option<String>,
    #[serde(with = "crate::report::seconds")]
    pub elapsed: Duration,
}

impl RunOutcome {
    pub fn failed(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| matches!(s.status, StageStatus::Failed { .. }))
            .count()
    }

    pub fn blocked(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| matches!(s.status, StageStatus::Blocked { .. }))
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| matches!(s.status, StageStatus::Skipped { .. }))
            .count()
    }

    pub fn unchanged(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| matches!(s.status, StageStatus::Unchanged { .. }))
            .count()
    }

    /// Stages that ran and were published or used as scratch copies.
    pub fn built(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    StageStatus::Succeeded { .. } | StageStatus::Scratch { .. }
                )
            })
            .count()
    }

    pub fn succeeded(&self) -> bool {
        self.failed() == 0 && self.skipped() == 0 && self.blocked() == 0
    }
}

/// Receives progress while a run goes on (the report module draws it).
pub trait RunObserver {
    fn run_started(&self, _run_id: &str, _stages: usize) {}
    fn stage_started(&self, _stage: &str) {}
    fn stage_finished(&self, _result: &StageResult) {}
}

/// An observer that shows nothing.
pub struct Silent;
impl RunObserver for Silent {}

/// Execute `strata run`.
pub async fn run(
    pipeline_path: Option<&Path>,
    request: &RunRequest,
    observer: &dyn RunObserver,
) -> Result<RunOutcome> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let project = load_project(pipeline_path)?;
    let settings = RunSettings::resolve(&project.pipeline, &request.overrides)?;
    if !request.dry_run && settings.memory_limit_explicit(&project.pipeline, &request.overrides) {
        engine::guard::memory_limit_given();
    }
    // Every source is listed, its footers read and its columns reconciled once, here; a file
    // that cannot be read as declared stops the run before anything runs.
    let resolved = sources::resolve_all(
        &project.pipeline,
        &engine::preflight::sources_of(&project.plan),
        Some(settings.params.ds),
    )
    .await?;
    let schemas = check_schemas(&project, &settings, &project.plan, &resolved.schemas()).await?;
    let wh = Warehouse::open(&settings.warehouse, &project.pipeline.project_dir)?;
    wh.reachable().await?;
    let run_id = new_run_id();
    let selected = select(&project, &wh, &settings, &request.select).await?;
    // What is published, and how it was built: stages whose code and inputs are unchanged are
    // carried over; a date before the warehouse's latest rebuilds only its partitions.
    let planned_on = wh.current_release().await?.map(|p| p.run_id);
    let state = ReleaseState::current(&wh).await?;
    let decisions = skip::decide(
        &project,
        &selected,
        &LandedSet::from_resolved(&resolved),
        &settings.params.vars,
        settings.params.ds,
        &state,
        request.force,
    );
    let plan = project
        .plan
        .restrict(&decisions.work.keys().cloned().collect());
    let ds = settings.params.ds.to_string();
    let mut outcome = RunOutcome {
        run_id: run_id.clone(),
        pipeline: project.pipeline.name.clone(),
        ds: ds.clone(),
        dry_run: request.dry_run,
        outputs: output_locations(&plan, &project, &wh, &ds, &run_id),
        plan: plan.clone(),
        source_anomalies: resolved.anomalies(),
        source_checks: Vec::new(),
        stages: Vec::new(),
        release: None,
        past_of: decisions.past_of.clone(),
        elapsed: Duration::ZERO,
    };
    if request.dry_run {
        outcome.elapsed = started.elapsed();
        return Ok(outcome);
    }
    engine::require_executor(&settings.engine)?;
    let read = engine::preflight::sources_of(&plan);
    resolved.require_data(&read, settings.params.ds)?;
    if decisions.nothing_to_do() {
        let lock = lock_unmoved(&wh, &run_id, request.break_lock, &planned_on).await?;
        let result = unchanged_run(
            &project, &wh, &settings, outcome, &decisions, &state, started, started_at,
        )
        .await;
        lock.release(&wh).await?;
        return result;
    }
    let ctx = engine::run_session(&settings.engine, &wh, &project.pipeline).await?;
    resolved.register(&ctx)?;
    let checks = audit::source_checks(&ctx, &resolved, &read, &settings);
    outcome.source_checks = engine::watched(&ctx, "the sources' checks", checks).await?;
    let lock = lock_unmoved(&wh, &run_id, request.break_lock, &planned_on).await?;
    let inputs = Inputs {
        ctx: &ctx,
        schemas: &schemas,
        resolved: &resolved,
        decisions: &decisions,
        state: &state,
    };
    let lineage = super::lineage::graph_of(&project.pipeline, &settings, &schemas).await?;
    let emitter =
        super::openlineage::Emitter::new(observer, &project, &wh, &schemas, &lineage, &run_id, &ds);
    let result = execute(&project, &settings, &inputs, &wh, &mut outcome, &emitter).await;
    let failure = super::openlineage::run_failure(&result, &outcome);
    emitter.finish(failure.as_deref()).await;
    outcome.elapsed = started.elapsed();
    let status = match &result {
        Ok(()) => records::status_of(&outcome),
        Err(StrataError::Interrupted) => "interrupted",
        Err(_) => "failed",
    };
    let rec = records::record(
        &project.pipeline,
        &outcome,
        &settings.params.vars,
        status,
        started_at,
    );
    let written = records::write(&wh, &rec, &outcome).await;
    let released = lock.release(&wh).await;
    result?;
    written?;
    released?;
    Ok(outcome)
}

/// Take the run lock, and make sure the release this run was planned on is still current:
/// another run may have published between planning and locking.
async fn lock_unmoved(
    wh: &Warehouse,
    run_id: &str,
    break_lock: bool,
    planned_on: &Option<String>,
) -> Result<RunLock> {
    let lock = RunLock::acquire(wh, run_id, break_lock).await?;
    let now = wh.current_release().await?.map(|p| p.run_id);
    if &now != planned_on {
        lock.release(wh).await?;
        return Err(StrataError::ReleaseMoved {
            planned_on: planned_on.clone().unwrap_or_else(|| "none".into()),
            now: now.unwrap_or_else(|| "none".into()),
        });
    }
    Ok(lock)
}

/// What a run's stages read: the session (sources registered), the validated schemas and the
/// resolved sources.
struct Inputs<'a> {
    ctx: &'a datafusion::prelude::SessionContext,
    schemas: &'a engine::validate::Schemas,
    resolved: &'a sources::ResolvedSources,
    decisions: &'a Decisions,
    /// The state of the release this run starts from.
    state: &'a ReleaseState,
}

/// A run in which every stage is unchanged: no stage work, no new release; only a record.
/// Called holding the run lock.
#[allow(clippy::too_many_arguments)]
async fn unchanged_run(
    project: &Project,
    wh: &Warehouse,
    settings: &RunSettings,
    mut outcome: RunOutcome,
    decisions: &Decisions,
    state: &ReleaseState,
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
) -> Result<RunOutcome> {
    let day = outcome.ds.clone();
    for planned in &outcome.plan.stages {
        let def = &project.pipeline.stages[planned.index];
        outcome
            .stages
            .push(skip::unchanged_result(planned, def, state, &day));
    }
    debug_assert!(decisions.nothing_to_do());
    // Under the lock, as any run: clean what killed runs left, then record.
    release::remove_debris(wh).await?;
    outcome.release = wh.current_release().await?;
    outcome.elapsed = started.elapsed();
    let rec = records::record(
        &project.pipeline,
        &outcome,
        &settings.params.vars,
        records::status_of(&outcome),
        started_at,
    );
    records::write(wh, &rec, &outcome).await?;
    Ok(outcome)
}

/// The locked part of a run: clean up, build the pending release, run stages, commit.
async fn execute(
    project: &Project,
    settings: &RunSettings,
    inputs: &Inputs<'_>,
    wh: &Warehouse,
    outcome: &mut RunOutcome,
    observer: &dyn RunObserver,
) -> Result<()> {
    let Inputs {
        ctx,
        schemas,
        resolved,
        decisions,
        state,
    } = *inputs;
    let mut new_state = state.clone();
    let run_id = outcome.run_id.clone();
    let plan = outcome.plan.clone();
    // Ctrl-C (SIGINT) stops the run at any point before it publishes: the handler is installed
    // here for the whole run, and a signal that arrives while checks run or outputs are moved is
    // kept and seen at the next stage or before the commit (listening only while a stage ran
    // swallowed those, and the run went on to publish).
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|source| StrataError::Io {
        operation: "listen for Ctrl-C",
        path: ".".into(),
        source,
    })?;
    release::remove_debris(wh).await?;
    observer.run_started(&run_id, plan.stages.len());
    let pending = PendingRelease::begin(wh, &run_id).await?;
    register_outputs(ctx, project, wh, &pending, &plan, schemas)?;
    let mut input_stats = InputStats::default();
    let ceiling = settings.engine.ceiling();
    // Set when a stage was stopped at the memory ceiling and memory did not come back down.
    let mut memory_stuck: Option<String> = None;
    let mut broken: HashSet<String> = HashSet::new();
    for planned in &plan.stages {
        if interrupted(&mut interrupt) {
            return Err(StrataError::Interrupted);
        }
        let stage_def = &project.pipeline.stages[planned.index];
        let work = decisions.work[&planned.name];
        let partitioned = stage_def.materialization == Materialization::Partitioned;
        if work == Work::Unchanged && !planned.inputs.iter().any(|i| broken.contains(&i.table)) {
            stage::register_output(
                ctx,
                wh,
                &stage_def.name,
                &pending.table_dir(stage_def.layer, &stage_def.name),
                &schemas.tables[&planned.name],
                partitioned,
            )?;
            let result = skip::unchanged_result(planned, stage_def, state, &outcome.ds);
            observer.stage_finished(&result);
            outcome.stages.push(result);
            continue;
        }
        let inputs = input_stats
            .of(project, resolved, wh, &pending, planned)
            .await?;
        let mut result = StageResult {
            stage: planned.name.clone(),
            layer: stage_def.layer.to_string(),
            status: StageStatus::Skipped {
                because: String::new(),
            },
            inputs,
            checks: Vec::new(),
            summary: None,
        };
        let skip = match (
            &memory_stuck,
            planned.inputs.iter().find(|i| broken.contains(&i.table)),
        ) {
            (Some(stopped), _) => Some(format!(
                "resident memory did not come back down after stage `{stopped}` was stopped"
            )),
            (None, Some(bad)) => Some(format!(
                "input `{}` was not published by this run",
                bad.table
            )),
            (None, None) => None,
        };
        if let Some(because) = skip {
            broken.insert(planned.name.clone());
            result.status = StageStatus::Skipped { because };
            observer.stage_finished(&result);
            outcome.stages.push(result);
            continue;
        }
        observer.stage_started(&planned.name);
        let schema = &schemas.tables[&planned.name];
        let during = format!("stage `{}`", planned.name);
        let run = stage::run_stage(ctx, wh, &run_id, stage_def, schema, &settings.params);
        let executed = tokio::select! {
            r = engine::watched_write(ctx, &during, run) => r,
            _ = interrupt.recv() => return Err(StrataError::Interrupted),
            resident = engine::guard::exceeded(ceiling) => Err(StrataError::MemoryCeiling {
                stage: stage_def.name.clone(),
                sql_file: stage_def.sql_display.clone(),
                resident,
                ceiling,
            }),
        };
        if matches!(executed, Err(StrataError::MemoryCeiling { .. }))
            && !engine::guard::settle(
                engine::guard::settle_target(ceiling, settings.engine.memory_limit),
                engine::guard::SETTLE_IDLE,
                engine::guard::SETTLE_CAP,
            )
            .await
        {
            memory_stuck = Some(planned.name.clone());
        }
        engine::guard::stage_done();
        result.status = match executed {
            // The cluster cannot run anything: the run stops, as when interrupted.
            Err(e @ StrataError::ClusterStalled { .. }) => return Err(e),
            Ok(output) => {
                let audit = audit::audit(ctx, wh, &pending, stage_def, schema, &output, settings);
                let (checks, blocked, summary) = engine::watched(ctx, &during, audit).await?;
                result.checks = checks;
                result.summary = match (summary, &output.note) {
                    (Some(s), Some(n)) => Some(format!("{n}; {s}")),
                    (s, n) => s.or_else(|| n.clone()),
                };
                if blocked.is_empty() && work == Work::Scratch {
                    // Read by this date's partitions, never published.
                    let files = &output.data_files;
                    stage::register_files(ctx, wh, &stage_def.name, files, schema)?;
                    StageStatus::Scratch { output }
                } else if blocked.is_empty() {
                    pending
                        .publish(
                            wh,
                            &output.staged,
                            &output.data_files,
                            stage_def.layer,
                            &stage_def.name,
                            output.partition.as_deref(),
                        )
                        .await?;
                    stage::register_output(
                        ctx,
                        wh,
                        &stage_def.name,
                        &pending.table_dir(stage_def.layer, &stage_def.name),
                        schema,
                        partitioned,
                    )?;
                    if let Some(expected) = decisions.expected.by_stage.get(&planned.name) {
                        let mut prov = expected.clone();
                        prov.run_id = run_id.clone();
                        prov.built_at = chrono::Utc::now().to_rfc3339();
                        new_state.put(partitioned, prov);
                    }
                    StageStatus::Succeeded { output }
                } else {
                    broken.insert(planned.name.clone());
                    StageStatus::Blocked {
                        output,
                        failed_checks: blocked,
                    }
                }
            }
            Err(e) => {
                broken.insert(planned.name.clone());
                let e = name_damaged_input(resolved, planned, stage_def, e).await;
                StageStatus::Failed {
                    error: error_chain_text(&e),
                }
            }
        };
        observer.stage_finished(&result);
        outcome.stages.push(result);
    }
    if decisions.past_of.is_none() {
        new_state.as_of = Some(outcome.ds.clone());
    }
    new_state.landings.extend(
        decisions
            .expected
            .landings
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    new_state.prune_landings();
    new_state.save(wh, &run_id).await?;
    let as_of = new_state
        .as_of
        .clone()
        .unwrap_or_else(|| outcome.ds.clone());
    if interrupted(&mut interrupt) {
        return Err(StrataError::Interrupted);
    }
    RunLock::ensure_held(wh, &run_id).await?;
    let release = pending
        .commit(wh, &as_of, project.pipeline.warehouse.keep_releases)
        .await?;
    wh.delete_prefix(&wh.path(&format!("{}/{run_id}", release::STAGING)))
        .await?;
    outcome.release = Some(release);
    Ok(())
}

/// Whether Ctrl-C arrived since the last look, without waiting.
fn interrupted(signal: &mut tokio::signal::unix::Signal) -> bool {
    use futures::FutureExt;
    signal.recv().now_or_never().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_release_published_while_planning_stops_the_run_and_frees_the_lock() {
        let wh = Warehouse::open("memory://moved", Path::new(".")).unwrap();
        let planned_on = Some("20261121T000000.000Z-aaaaaa".to_string());
        let e = lock_unmoved(&wh, "r1", false, &planned_on)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StrataError::ReleaseMoved { planned_on: p, now } if p.starts_with("20261121") && now == "none"),
            "{e}"
        );
        // The lock was given back: the next run takes it.
        let lock = lock_unmoved(&wh, "r2", false, &None).await.unwrap();
        lock.release(&wh).await.unwrap();
    }
}
