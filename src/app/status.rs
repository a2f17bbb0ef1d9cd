//! `strata status`: for every stage and date, whether its published output is built (its
//! provenance equals what it would be built from now), missing, or stale, and why.
//!
//! Partitioned stages are shown for every published partition (or only `--ds`); full tables
//! once, at the date they are as of. Staleness is window-aware because input fingerprints are:
//! a file landing late for 2026-11-15 changes the inputs of every date from 2026-11-15 on, and
//! of no earlier one. Nothing here reads data: only listings and the release's state.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;

use crate::app::fingerprint::{self, LandedSet};
use crate::app::load_project;
use crate::error::Result;
use crate::model::Materialization;
use crate::settings::{Overrides, RunSettings};
use crate::storage::Warehouse;
use crate::storage::release::table_dir;
use crate::storage::state::ReleaseState;

/// The state of one output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    Built,
    Missing,
    Stale,
}

impl OutputState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputState::Built => "built",
            OutputState::Missing => "missing",
            OutputState::Stale => "stale",
        }
    }
}

/// One stage at one date.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusRow {
    pub stage: String,
    pub layer: String,
    pub partitioned: bool,
    /// The partition's date, or the date a full table is as of.
    pub ds: Option<String>,
    pub state: OutputState,
    pub why: Vec<String>,
    /// The run that built the published output.
    pub built_by: Option<String>,
}

/// What `strata status` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatusOutcome {
    pub pipeline: String,
    /// The current release.
    pub release: Option<String>,
    /// The date the full tables are as of.
    pub as_of: Option<String>,
    pub rows: Vec<StatusRow>,
}

impl StatusOutcome {
    /// The dates with at least one stale output, in order.
    pub fn stale_dates(&self) -> Vec<NaiveDate> {
        let dates: BTreeSet<NaiveDate> = self
            .rows
            .iter()
            .filter(|r| r.state == OutputState::Stale)
            // A full table is rebuilt by a run for the date the full tables are as of.
            .filter_map(|r| match r.partitioned {
                true => r.ds.as_deref(),
                false => self.as_of.as_deref().or(r.ds.as_deref()),
            })
            .filter_map(|d| crate::model::types::parse_date(d).ok())
            .collect();
        dates.into_iter().collect()
    }
}

/// Compute the status of every stage (every partition, or only those of `ds`).
pub async fn status(
    pipeline: Option<&Path>,
    overrides: &Overrides,
    ds: Option<NaiveDate>,
) -> Result<StatusOutcome> {
    let project = load_project(pipeline)?;
    let settings = RunSettings::resolve(&project.pipeline, overrides)?;
    let wh = Warehouse::open_read_only(&settings.warehouse, &project.pipeline.project_dir)?;
    wh.reachable().await?;
    let current = wh.current_release().await?;
    let state = match &current {
        Some(p) => ReleaseState::load(&wh, &p.run_id).await?,
        None => ReleaseState::default(),
    };
    let names = crate::engine::preflight::sources_of(&project.plan);
    let landed = LandedSet::list(&project.pipeline, &names).await?;
    let vars = &settings.params.vars;
    let as_of = state
        .as_of
        .as_deref()
        .and_then(|d| crate::model::types::parse_date(d).ok());
    let dates: BTreeSet<NaiveDate> = match ds {
        Some(d) => [d].into(),
        None => state
            .partitions
            .values()
            .flat_map(|m| m.keys())
            .filter_map(|d| crate::model::types::parse_date(d).ok())
            .chain(as_of)
            .collect(),
    };
    let none = Default::default();
    let mut rows = Vec::new();
    // Full tables, at the date they are as of.
    let at_as_of = as_of.map(|d| fingerprint::expected(&project, &landed, vars, d, &none));
    for planned in &project.plan.stages {
        let def = &project.pipeline.stages[planned.index];
        if def.materialization == Materialization::Partitioned {
            continue;
        }
        let published = state.get(&def.name, None);
        let expected = at_as_of.as_ref().and_then(|e| e.by_stage.get(&def.name));
        let dir = current
            .as_ref()
            .map(|p| table_dir(&p.run_id, def.layer, &def.name));
        rows.push(row(&wh, def, false, as_of, published, expected, dir).await?);
    }
    for d in dates {
        let expected = fingerprint::expected(&project, &landed, vars, d, &none);
        for planned in &project.plan.stages {
            let def = &project.pipeline.stages[planned.index];
            if def.materialization != Materialization::Partitioned {
                continue;
            }
            let day = d.to_string();
            let published = state.get(&def.name, Some(&day));
            let dir = current
                .as_ref()
                .map(|p| format!("{}/ds={day}", table_dir(&p.run_id, def.layer, &def.name)));
            let e = expected.by_stage.get(&def.name);
            rows.push(row(&wh, def, true, Some(d), published, e, dir).await?);
        }
    }
    Ok(StatusOutcome {
        pipeline: project.pipeline.name.clone(),
        release: current.map(|p| p.run_id),
        as_of: state.as_of.clone(),
        rows,
    })
}

async fn row(
    wh: &Warehouse,
    def: &crate::model::Stage,
    partitioned: bool,
    ds: Option<NaiveDate>,
    published: Option<&crate::storage::state::Provenance>,
    expected: Option<&crate::storage::state::Provenance>,
    dir: Option<String>,
) -> Result<StatusRow> {
    let (state, why) = match (published, expected) {
        (Some(p), Some(e)) => {
            let why = fingerprint::why_stale(p, e);
            let state = if why.is_empty() {
                OutputState::Built
            } else {
                OutputState::Stale
            };
            (state, why)
        }
        (Some(_), None) => (OutputState::Built, Vec::new()),
        (None, _) => {
            let present = match &dir {
                Some(d) => !wh.list(&wh.path(d)).await?.is_empty(),
                None => false,
            };
            if present {
                (
                    OutputState::Stale,
                    vec!["no provenance recorded".to_string()],
                )
            } else {
                (OutputState::Missing, Vec::new())
            }
        }
    };
    Ok(StatusRow {
        stage: def.name.clone(),
        layer: def.layer.to_string(),
        partitioned,
        ds: published
            .map(|p| p.ds.clone())
            .or(ds.map(|d| d.to_string())),
        state,
        why,
        built_by: published.map(|p| p.run_id.clone()),
    })
}
