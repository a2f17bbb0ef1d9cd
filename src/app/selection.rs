//! Which stages a run selects (`--select`) and where their outputs are read after it.

use std::collections::BTreeSet;

use crate::app::Project;
use crate::diag::suggest;
use crate::engine::stage;
use crate::error::{Result, StrataError};
use crate::model::Materialization;
use crate::plan::Plan;
use crate::settings::RunSettings;
use crate::storage::Warehouse;

/// Resolve `--select`: the named stages (with `+` expansions) plus every upstream stage whose
/// output for this run is missing from the current release, or is a full table built for
/// another date (a full table is as of one date: read for another it would give that date's
/// numbers under this one's). No selector selects everything.
pub async fn select(
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
    let state = crate::storage::state::ReleaseState::current(wh).await?;
    let ds = settings.params.ds.to_string();
    let partition = stage::partition_name(&settings.params);
    let mut todo: Vec<String> = selected.iter().cloned().collect();
    while let Some(name) = todo.pop() {
        let planned = plan.stage(&name).expect("selected names are planned");
        for input in planned.inputs.iter().filter(|i| !i.is_source) {
            if selected.contains(&input.table) {
                continue;
            }
            let def = project.pipeline.stage(&input.table).expect("known stage");
            let as_of_other_date = def.materialization == Materialization::Table
                && state.tables.get(&def.name).is_some_and(|p| p.ds != ds);
            let present = match &current {
                None => false,
                Some(_) if as_of_other_date => false,
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
/// Where each planned stage's output will be read: the stable local path, or on object stores
/// the prefix of the release run `run_id` builds.
pub fn output_locations(
    plan: &Plan,
    project: &Project,
    wh: &Warehouse,
    ds: &str,
    run_id: &str,
) -> Vec<String> {
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
                    "{}/{}/{}/{}/",
                    wh.display.trim_end_matches('/'),
                    crate::storage::release::release_dir(run_id),
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
