//! Runs over several dates: `run --from D1 --to D2` (a backfill), `run --stale` (rebuild what
//! `status` shows stale) and `run --retry RUN_ID` (finish what a run did not publish).
//!
//! A backfill makes one release per date, in date order, each through [`run::run`]. It is
//! resumable without any bookkeeping of its own: a date whose outputs were published has
//! provenance equal to what it would be built from, so rerunning the same command skips it as
//! `unchanged` (no stage work, no new release) and goes on from the first date not done. It
//! stops at the first date that does not succeed.

use std::path::Path;

use chrono::NaiveDate;

use crate::app::records;
use crate::app::run::{self, RunObserver, RunOutcome, RunRequest};
use crate::app::status;
use crate::error::{Result, StrataError};
use crate::settings::RunSettings;
use crate::storage::Warehouse;

/// Receives progress across dates (the report module draws it).
pub trait BatchObserver: RunObserver {
    fn dates_planned(&self, _dates: &[NaiveDate]) {}
    fn date_finished(&self, _outcome: &RunOutcome) {}
}

/// What a run over several dates did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BatchOutcome {
    /// The dates to run, in order.
    pub dates: Vec<String>,
    /// One outcome per date run, in order.
    pub runs: Vec<RunOutcome>,
    /// The date at which the batch stopped because its run did not succeed.
    pub stopped_at: Option<String>,
}

impl BatchOutcome {
    pub fn failed(&self) -> bool {
        self.runs.iter().any(|r| r.failed() > 0)
    }

    pub fn succeeded(&self) -> bool {
        self.stopped_at.is_none()
    }
}

/// Every date from `from` to `to`, inclusive.
pub fn dates_between(from: NaiveDate, to: NaiveDate) -> Result<Vec<NaiveDate>> {
    if from > to {
        return Err(StrataError::EmptyRange {
            from: from.to_string(),
            to: to.to_string(),
        });
    }
    Ok(from.iter_days().take_while(|d| *d <= to).collect())
}

/// Run `request` for each of `dates` in order, stopping at the first that does not succeed.
pub async fn run_dates(
    pipeline: Option<&Path>,
    request: &RunRequest,
    dates: Vec<NaiveDate>,
    observer: &dyn BatchObserver,
) -> Result<BatchOutcome> {
    // A memory limit may start the binary again (the allocator); let it do so before anything
    // is printed. A pipeline that does not load is reported by the first date's run.
    if !request.dry_run
        && let Ok(project) = crate::app::load_project(pipeline)
        && let Ok(settings) = RunSettings::resolve(&project.pipeline, &request.overrides)
        && settings.memory_limit_explicit(&project.pipeline, &request.overrides)
    {
        crate::engine::guard::memory_limit_given();
    }
    observer.dates_planned(&dates);
    let mut out = BatchOutcome {
        dates: dates.iter().map(|d| d.to_string()).collect(),
        runs: Vec::new(),
        stopped_at: None,
    };
    for d in dates {
        let mut req = request.clone();
        req.overrides.ds = Some(d.to_string());
        let outcome = run::run(pipeline, &req, observer).await?;
        observer.date_finished(&outcome);
        let ok = outcome.succeeded();
        out.runs.push(outcome);
        if !ok {
            out.stopped_at = Some(d.to_string());
            break;
        }
    }
    Ok(out)
}

/// `run --stale`: rebuild, date by date in order, every output `status` shows stale.
pub async fn stale(
    pipeline: Option<&Path>,
    request: &RunRequest,
    observer: &dyn BatchObserver,
) -> Result<BatchOutcome> {
    let found = status::status(pipeline, &request.overrides, None).await?;
    run_dates(pipeline, request, found.stale_dates(), observer).await
}

/// `run --retry RUN_ID`: rerun, with that run's date and variables, the stages it did not
/// publish (those already published since are skipped as unchanged).
pub async fn retry(
    pipeline: Option<&Path>,
    request: &RunRequest,
    run_id: &str,
    observer: &dyn RunObserver,
) -> Result<RunOutcome> {
    let project = crate::app::load_project(pipeline)?;
    let settings = RunSettings::resolve(&project.pipeline, &request.overrides)?;
    let wh = Warehouse::open_read_only(&settings.warehouse, &project.pipeline.project_dir)?;
    wh.reachable().await?;
    let rec = records::get(&wh, Some(run_id)).await?;
    if rec.status == "succeeded" {
        return Err(StrataError::NothingToRetry {
            run_id: run_id.to_string(),
            status: rec.status,
        });
    }
    let done: Vec<&str> = rec
        .stages
        .iter()
        .filter(|s| {
            matches!(
                s.get("status").and_then(|v| v.as_str()),
                Some("succeeded" | "unchanged" | "scratch")
            )
        })
        .filter_map(|s| s.get("stage").and_then(|v| v.as_str()))
        .collect();
    let mut req = request.clone();
    req.overrides.ds = Some(rec.ds.clone());
    req.overrides.vars = rec.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    req.select = project
        .plan
        .stages
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| !done.contains(&n.as_str()))
        .collect();
    if req.select.is_empty() {
        return Err(StrataError::NothingToRetry {
            run_id: run_id.to_string(),
            status: "published every stage".into(),
        });
    }
    run::run(pipeline, &req, observer).await
}
