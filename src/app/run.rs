//! `strata run`: validate everything, then execute the selected stages in order, write, publish
//! and release.
//!
//! A stage that fails does not stop the run: its descendants are skipped and independent
//! branches go on. Passing outputs are published into the run's pending release, which becomes
//! current at the end (see `storage::release`).

use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::app::{Project, check_schemas, load_project};
use crate::diag::suggest;
use crate::engine::{self, sources, stage};
use crate::error::{Result, StrataError};
use crate::model::Materialization;
use crate::plan::Plan;
use crate::report::error_chain_text;
use crate::settings::{Overrides, RunSettings};
use crate::storage::Warehouse;
use crate::storage::release::{PendingRelease, ReleasePointer};

/// What the user asked `run` to do.
#[derive(Debug, Clone, Default)]
pub struct RunRequest {
    pub overrides: Overrides,
    /// Stage selectors: `name`, `+name` (with ancestors), `name+` (with descendants).
    pub select: Vec<String>,
    pub dry_run: bool,
}

/// How one stage ended.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StageStatus {
    Succeeded { output: stage::StageOutput },
    Failed { error: String },
    Skipped { because: String },
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StageResult {
    pub stage: String,
    pub layer: String,
    #[serde(flatten)]
    pub status: StageStatus,
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
    pub stages: Vec<StageResult>,
    pub release: Option<ReleasePointer>,
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

    pub fn skipped(&self) -> usize {
        self.stages
            .iter()
            .filter(|s| matches!(s.status, StageStatus::Skipped { .. }))
            .count()
    }

    pub fn succeeded(&self) -> bool {
        self.failed() == 0 && self.skipped() == 0
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
    let project = load_project(pipeline_path)?;
    let settings = RunSettings::resolve(&project.pipeline, &request.overrides)?;
    let schemas = check_schemas(&project, &settings, &project.plan).await?;
    let wh = Warehouse::open(&settings.warehouse, &project.pipeline.project_dir)?;
    let run_id = new_run_id();
    let selected = select(&project, &wh, &settings, &request.select).await?;
    let plan = project.plan.restrict(&selected);
    let ds = settings.params.ds.to_string();
    let mut outcome = RunOutcome {
        run_id: run_id.clone(),
        pipeline: project.pipeline.name.clone(),
        ds: ds.clone(),
        dry_run: request.dry_run,
        outputs: output_locations(&plan, &project, &wh, &ds),
        plan: plan.clone(),
        stages: Vec::new(),
        release: None,
        elapsed: Duration::ZERO,
    };
    if request.dry_run {
        outcome.elapsed = started.elapsed();
        return Ok(outcome);
    }
    observer.run_started(&run_id, plan.stages.len());
    let pending = PendingRelease::begin(&wh, &run_id).await?;
    let ctx = engine::session(&settings.engine, Some(&wh), &project.pipeline)?;
    register_inputs(&ctx, &project, &wh, &pending, &plan, &schemas).await?;
    let mut broken: HashSet<String> = HashSet::new();
    for planned in &plan.stages {
        let stage_def = &project.pipeline.stages[planned.index];
        let layer = stage_def.layer.to_string();
        if let Some(bad) = planned.inputs.iter().find(|i| broken.contains(&i.table)) {
            broken.insert(planned.name.clone());
            let result = StageResult {
                stage: planned.name.clone(),
                layer,
                status: StageStatus::Skipped {
                    because: format!("input `{}` did not publish", bad.table),
                },
            };
            observer.stage_finished(&result);
            outcome.stages.push(result);
            continue;
        }
        observer.stage_started(&planned.name);
        let schema = &schemas.tables[&planned.name];
        let executed = tokio::select! {
            r = stage::run_stage(&ctx, &wh, &run_id, stage_def, schema, &settings.params) => r,
            _ = tokio::signal::ctrl_c() => return Err(StrataError::Interrupted),
        };
        let status = match executed {
            Ok(output) => {
                let partitioned = stage_def.materialization == Materialization::Partitioned;
                pending
                    .publish(
                        &wh,
                        &output.staged,
                        stage_def.layer,
                        &stage_def.name,
                        output.partition.as_deref(),
                    )
                    .await?;
                stage::register_output(
                    &ctx,
                    &wh,
                    &stage_def.name,
                    &pending.table_dir(stage_def.layer, &stage_def.name),
                    schema,
                    partitioned,
                )?;
                StageStatus::Succeeded { output }
            }
            Err(e) => {
                broken.insert(planned.name.clone());
                StageStatus::Failed {
                    error: error_chain_text(&e),
                }
            }
        };
        let result = StageResult {
            stage: planned.name.clone(),
            layer,
            status,
        };
        observer.stage_finished(&result);
        outcome.stages.push(result);
    }
    let release = pending
        .commit(&wh, &ds, project.pipeline.warehouse.keep_releases)
        .await?;
    wh.delete_prefix(&wh.path(&format!("{}/{run_id}", crate::storage::release::STAGING)))
        .await?;
    outcome.release = Some(release);
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Register sources and the outputs of stages that this run reads but does not rebuild.
async fn register_inputs(
    ctx: &datafusion::prelude::SessionContext,
    project: &Project,
    wh: &Warehouse,
    pending: &PendingRelease,
    plan: &Plan,
    schemas: &engine::validate::Schemas,
) -> Result<()> {
    let running: HashSet<&str> = plan.stages.iter().map(|s| s.name.as_str()).collect();
    let mut done: HashSet<String> = HashSet::new();
    for input in plan.stages.iter().flat_map(|s| s.inputs.iter()) {
        if running.contains(input.table.as_str()) || !done.insert(input.table.clone()) {
            continue;
        }
        if input.is_source {
            let source = project
                .pipeline
                .source(&input.table)
                .expect("plan inputs name known sources");
            let url = sources::source_url(&project.pipeline, source)?;
            sources::register_source_store(ctx, &project.pipeline, &url)?;
            let table_schema = &schemas.tables[&source.name];
            let n_files = table_schema.fields().len() - source.partitions.len();
            let file_schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(
                table_schema.fields()[..n_files].to_vec(),
            ));
            sources::register(ctx, source, &url, file_schema)?;
        } else {
            let def = project
                .pipeline
                .stage(&input.table)
                .expect("plan inputs name known stages");
            stage::register_output(
                ctx,
                wh,
                &def.name,
                &pending.table_dir(def.layer, &def.name),
                &schemas.tables[&def.name],
                def.materialization == Materialization::Partitioned,
            )?;
        }
    }
    Ok(())
}

/// Resolve `--select`: the named stages (with `+` expansions) plus every upstream stage whose
/// output for this run is missing from the current release. No selector selects everything.
async fn select(
    project: &Project,
    wh: &Warehouse,
    settings: &RunSettings,
    selectors: &[String],
) -> Result<BTreeSet<String>> {
    let plan = &project.plan;
    if selectors.is_empty() {
        return Ok(plan.stages.iter().map(|s| s.name.clone()).collect());
    }
    let mut selected = BTreeSet::new();
    for raw in selectors {
        let with_up = raw.starts_with('+');
        let with_down = raw.ends_with('+') && raw.len() > 1;
        let name = raw.trim_start_matches('+').trim_end_matches('+');
        if plan.stage(name).is_none() {
            return Err(StrataError::UnknownStage {
                stage: name.to_string(),
                suggestion: suggest(name, plan.stages.iter().map(|s| s.name.as_str())),
            });
        }
        selected.insert(name.to_string());
        if with_up {
            selected.extend(plan.ancestors(name));
        }
        if with_down {
            selected.extend(plan.descendants(name));
        }
    }
    let current = wh.current_release().await?;
    let partition = stage::partition_name(&settings.params);
    let mut todo: Vec<String> = selected.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        let planned = plan.stage(&name).expect("selected names are planned");
        for input in planned.inputs.iter().filter(|i| !i.is_source) {
            if selected.contains(&input.table) {
                continue;
            }
            let def = project.pipeline.stage(&input.table).expect("known stage");
            let present = match &current {
                None => false,
                Some(p) => {
                    let mut dir =
                        crate::storage::release::table_dir(&p.run_id, def.layer, &def.name);
                    if def.materialization == Materialization::Partitioned {
                        dir = format!("{dir}/{partition}");
                    }
                    !wh.list(&wh.path(&dir)).await?.is_empty()
                }
            };
            if !present {
                selected.insert(input.table.clone());
                todo.push(input.table.clone());
            }
        }
    }
    Ok(selected)
}

/// Where each stage of `plan` is read by report tools after this run.
fn output_locations(plan: &Plan, project: &Project, wh: &Warehouse, ds: &str) -> Vec<String> {
    plan.stages
        .iter()
        .map(|s| {
            let def = &project.pipeline.stages[s.index];
            let base = match &wh.local_root {
                Some(root) => {
                    let base = project
                        .pipeline
                        .project_dir
                        .canonicalize()
                        .unwrap_or_else(|_| project.pipeline.project_dir.clone());
                    let rel = crate::diag::display_path(root, &base);
                    format!("{}/{}/{}/", rel.display(), def.layer, def.name)
                }
                None => format!(
                    "{}/current/{}/{}/",
                    wh.display.trim_end_matches('/'),
                    def.layer,
                    def.name
                ),
            };
            match def.materialization {
                Materialization::Partitioned => format!("{base}ds={ds}/"),
                Materialization::Table => base,
            }
        })
        .collect()
}

/// A sortable, unique run id: UTC time plus a random suffix.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = chrono::Utc::now();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    format!(
        "{}-{:06x}",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        h.finish() & 0xff_ffff
    )
}
