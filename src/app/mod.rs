//! One function per subcommand. Each returns an outcome value; printing is `report`'s job.

pub mod audit;
pub mod batch;
pub mod docs;
mod docs_html;
pub mod explain;
pub mod fingerprint;
pub mod inspect;
pub mod lineage;
pub mod openlineage;
pub mod quality;
pub mod records;
pub mod run;
mod run_inputs;
pub mod scaffold;
pub mod selection;
pub mod skip;
pub mod status;
mod unit_compare;
pub mod unit_test;

use std::path::{Path, PathBuf};

use crate::engine::{self, validate::Schemas};
use crate::error::{Result, StrataError};
use crate::model::{self, Pipeline};
use crate::plan::Plan;
use crate::settings::{Overrides, RunSettings};

/// A loaded and planned project.
#[derive(Debug, Clone)]
pub struct Project {
    pub pipeline: Pipeline,
    pub plan: Plan,
}

/// Find the pipeline file: the given path, or the only `pipelines/*.yaml` (or `.yml`).
pub fn find_pipeline(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let dir = PathBuf::from("pipelines");
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                        && p.file_stem().is_some_and(|s| s != "reference")
                })
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    match candidates.len() {
        0 => Err(StrataError::NoPipeline { dir }),
        1 => Ok(candidates.remove(0)),
        _ => Err(StrataError::AmbiguousPipeline { dir, candidates }),
    }
}

/// Load the pipeline and build its plan; every problem is reported together.
pub fn load_project(given: Option<&Path>) -> Result<Project> {
    let path = find_pipeline(given)?;
    let loaded = model::load_partial(&path)?;
    let mut problems = loaded.problems;
    let Some(pipeline) = loaded.pipeline else {
        return Err(StrataError::Invalid { problems });
    };
    let broken = loaded.broken.into_iter().collect();
    match Plan::build_ignoring(&pipeline, &broken) {
        Ok(plan) if problems.is_empty() => Ok(Project { pipeline, plan }),
        Ok(_) => Err(StrataError::Invalid { problems }),
        Err(plan_problems) => {
            problems.extend(plan_problems);
            Err(StrataError::Invalid { problems })
        }
    }
}

/// What `strata validate` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ValidateOutcome {
    pub pipeline: String,
    pub sources: usize,
    pub stages: usize,
    #[serde(skip)]
    pub schemas: Schemas,
}

/// Load and plan the project, resolve its settings and validate every stage statically
/// (declared or footer-inferred source schemas; no data read): what `validate`, `lineage`,
/// `docs` and `test` all start from.
pub async fn validated(
    given: Option<&Path>,
    overrides: &Overrides,
) -> Result<(Project, RunSettings, Schemas)> {
    let project = load_project(given)?;
    let settings = RunSettings::resolve(&project.pipeline, overrides)?;
    let sources = engine::validate::static_source_schemas(
        &project.pipeline,
        &engine::preflight::sources_of(&project.plan),
        settings.params.ds,
    )
    .await;
    let schemas = check_schemas(&project, &settings, &project.plan, &sources).await?;
    Ok((project, settings, schemas))
}

/// Load, plan and statically validate every stage against schemas.
pub async fn validate(given: Option<&Path>, overrides: &Overrides) -> Result<ValidateOutcome> {
    let (project, _, schemas) = validated(given, overrides).await?;
    Ok(ValidateOutcome {
        pipeline: project.pipeline.name.clone(),
        sources: project.pipeline.sources.len(),
        stages: project.pipeline.stages.len(),
        schemas,
    })
}

/// Static validation of `plan`'s stages against the sources' schemas (no data read).
pub async fn check_schemas(
    project: &Project,
    settings: &RunSettings,
    plan: &Plan,
    sources: &engine::validate::SourceSchemas,
) -> Result<Schemas> {
    let ctx = engine::session(&settings.engine, None, &project.pipeline)?;
    engine::validate::validate(&ctx, &project.pipeline, plan, &settings.params, sources)
        .await
        .map_err(|problems| StrataError::Invalid { problems })
}
