//! What a run's stages read: input statistics for the record, the registration of outputs the
//! run reads but does not rebuild, and the search for a damaged input after a decoding error.

use std::collections::HashSet;

use crate::app::Project;
use crate::app::records::InputStat;
use crate::engine::{self, sources, stage};
use crate::error::{Result, StrataError};
use crate::model::Materialization;
use crate::plan::Plan;
use crate::storage::Warehouse;
use crate::storage::release::PendingRelease;

/// A stage that failed decoding its input: find the damaged source file and name it.
pub(crate) async fn name_damaged_input(
    resolved: &sources::ResolvedSources,
    planned: &crate::plan::PlannedStage,
    def: &crate::model::Stage,
    e: StrataError,
) -> StrataError {
    if !engine::damage::from_input(&e) {
        return e;
    }
    let sources: Vec<&str> = planned
        .inputs
        .iter()
        .filter(|i| i.is_source)
        .map(|i| i.table.as_str())
        .collect();
    match engine::damage::locate(resolved, &sources).await {
        Some(damage) => StrataError::DamagedInput {
            stage: def.name.clone(),
            sql_file: def.sql_display.clone(),
            damage: Box::new(damage),
        },
        None => e,
    }
}

/// Files and bytes of each input, listed once per run.
#[derive(Default)]
pub(crate) struct InputStats {
    cache: std::collections::HashMap<String, InputStat>,
}

impl InputStats {
    pub(crate) async fn of(
        &mut self,
        project: &Project,
        resolved: &sources::ResolvedSources,
        wh: &Warehouse,
        pending: &PendingRelease,
        planned: &crate::plan::PlannedStage,
    ) -> Result<Vec<InputStat>> {
        let mut out = Vec::new();
        for input in &planned.inputs {
            if let Some(hit) = self.cache.get(&input.table) {
                out.push(hit.clone());
                continue;
            }
            let (files, bytes) = if let Some(r) = resolved.get(&input.table) {
                let files = r.files.iter().map(|f| f.landed.size);
                (files.len() as u64, files.sum())
            } else {
                let def = project.pipeline.stage(&input.table).expect("known stage");
                let metas = wh
                    .list(&wh.path(&pending.table_dir(def.layer, &def.name)))
                    .await?;
                (metas.len() as u64, metas.iter().map(|m| m.size).sum())
            };
            let stat = InputStat {
                table: input.table.clone(),
                files,
                bytes,
            };
            // Stage outputs change during the run; only sources are stable enough to cache.
            if input.is_source {
                self.cache.insert(input.table.clone(), stat.clone());
            }
            out.push(stat);
        }
        Ok(out)
    }
}

/// Register the outputs of stages that this run reads but does not rebuild.
pub(crate) fn register_outputs(
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
        if !input.is_source {
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
