//! What a run for one date does with each stage: build it, keep it (unchanged), or build a
//! scratch copy that is not published.
//!
//! - **Current date** (`ds` on or after the date the warehouse's full tables are as of): every
//!   selected stage whose published output has the provenance id it would be built with now is
//!   `unchanged` and carried into the new release as is; the others are built (all of them
//!   with `--force`). The full tables become as of `ds`.
//! - **Past date** (`ds` before that date): only partitioned stages are considered; the
//!   published full tables stay as of the later date, so partitions of later dates never
//!   contradict them. A partition that must be rebuilt reads scratch copies of its full-table
//!   ancestors computed as of `ds`, which are checked but not published.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::app::Project;
use crate::app::fingerprint::{self, Expected, LandedSet};
use crate::model::Materialization;
use crate::model::types::VarValue;
use crate::storage::state::ReleaseState;

/// What happens to one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Build,
    Unchanged,
    /// A full table computed as of a past date for that date's partitions, not published.
    Scratch,
}

/// The decisions of one run.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    pub work: BTreeMap<String, Work>,
    pub expected: Expected,
    /// Set for a past-date run: the date the full tables stay as of.
    pub past_of: Option<String>,
}

impl Decisions {
    /// True when no stage needs to run.
    pub fn nothing_to_do(&self) -> bool {
        self.work.values().all(|w| *w == Work::Unchanged)
    }
}

fn is_partitioned(project: &Project, name: &str) -> bool {
    project
        .pipeline
        .stage(name)
        .is_some_and(|s| s.materialization == Materialization::Partitioned)
}

/// Decide, for the `selected` stages of a run for `ds`, which to build.
pub fn decide(
    project: &Project,
    selected: &BTreeSet<String>,
    landed: &LandedSet,
    vars: &[(String, VarValue)],
    ds: NaiveDate,
    state: &ReleaseState,
    force: bool,
) -> Decisions {
    let day = ds.to_string();
    let past_of = state
        .as_of
        .as_ref()
        .filter(|latest| day.as_str() < latest.as_str())
        .cloned();
    let past = past_of.is_some();
    let considered: BTreeSet<&String> = selected
        .iter()
        .filter(|s| !past || is_partitioned(project, s))
        .collect();
    // Stages this run does not consider are read as published. In a past-date run, full
    // tables are computed as of `ds` instead (they may become scratch copies).
    let mut fixed = BTreeMap::new();
    for s in &project.plan.stages {
        let partitioned = is_partitioned(project, &s.name);
        if considered.contains(&s.name) || (past && !partitioned) {
            continue;
        }
        let part = partitioned.then_some(day.as_str());
        fixed.insert(
            s.name.clone(),
            state.get(&s.name, part).map(|p| p.id.clone()),
        );
    }
    let expected = fingerprint::expected(project, landed, vars, ds, &fixed);
    let mut work = BTreeMap::new();
    for name in considered {
        let part = is_partitioned(project, name).then_some(day.as_str());
        let published = state.get(name, part).map(|p| &p.id);
        let wanted = expected.by_stage.get(name).map(|p| &p.id);
        let w = if force || published.is_none() || published != wanted {
            Work::Build
        } else {
            Work::Unchanged
        };
        work.insert(name.clone(), w);
    }
    if past {
        let building: Vec<String> = work
            .iter()
            .filter(|(_, w)| **w == Work::Build)
            .map(|(n, _)| n.clone())
            .collect();
        // Walk up from each partition to rebuild through full tables; a partitioned ancestor
        // that is not rebuilt is read as published, so the walk stops there.
        let mut todo = building.clone();
        while let Some(name) = todo.pop() {
            let Some(planned) = project.plan.stage(&name) else {
                continue;
            };
            for up in planned.inputs.iter().filter(|i| !i.is_source) {
                if is_partitioned(project, &up.table) || work.contains_key(&up.table) {
                    continue;
                }
                work.insert(up.table.clone(), Work::Scratch);
                todo.push(up.table.clone());
            }
        }
    }
    Decisions {
        work,
        expected,
        past_of,
    }
}

/// The result of a stage carried into the new release as it is, with the provenance id of the
/// output it keeps.
pub(super) fn unchanged_result(
    planned: &crate::plan::PlannedStage,
    def: &crate::model::Stage,
    state: &ReleaseState,
    ds: &str,
) -> super::run::StageResult {
    let part = (def.materialization == Materialization::Partitioned).then_some(ds);
    super::run::StageResult {
        stage: planned.name.clone(),
        layer: def.layer.to_string(),
        status: super::run::StageStatus::Unchanged {
            provenance: state
                .get(&planned.name, part)
                .map(|p| p.id.clone())
                .unwrap_or_default(),
        },
        inputs: Vec::new(),
        checks: Vec::new(),
        summary: None,
    }
}
