//! Progress while a run goes on: a bar on a terminal, one plain line per stage otherwise. Both go
//! to stderr so stdout stays clean for results.

use std::io::IsTerminal;

use chrono::NaiveDate;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::human_bytes;
use crate::app::batch::BatchObserver;
use crate::app::run::{RunObserver, RunOutcome, StageResult, StageStatus};

pub struct Progress {
    multi: Option<MultiProgress>,
    bar: Option<ProgressBar>,
    /// Across dates, for runs over several dates.
    dates: Option<ProgressBar>,
    quiet: bool,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self::with_dates(quiet, false)
    }

    /// A progress display with a second bar across the dates of a backfill.
    pub fn with_dates(quiet: bool, dates: bool) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        let multi = show.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let date_bar = match (&multi, dates) {
            (Some(m), true) => {
                let bar = m.add(ProgressBar::new(0));
                bar.set_style(style("dates [{bar:30}] {pos}/{len} {wide_msg}"));
                Some(bar)
            }
            _ => None,
        };
        let bar = multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(0));
            bar.set_style(style("{spinner} [{bar:30}] {pos}/{len} {wide_msg}"));
            bar
        });
        Self {
            multi,
            bar,
            dates: date_bar,
            quiet,
        }
    }

    fn line(&self, text: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(text);
            }
            None => super::to_stderr(&format!("{text}\n")),
        }
    }
}

impl BatchObserver for Progress {
    fn dates_planned(&self, dates: &[NaiveDate]) {
        if let Some(bar) = &self.dates {
            bar.set_length(dates.len() as u64);
            if let (Some(first), Some(last)) = (dates.first(), dates.last()) {
                bar.set_message(format!("{first} .. {last}"));
            }
        }
        tracing::info!(dates = dates.len(), "runs over several dates");
    }

    fn date_finished(&self, o: &RunOutcome) {
        if let Some(bar) = &self.dates {
            bar.inc(1);
            bar.set_message(format!("done {}", o.ds));
        }
        if !self.quiet {
            self.line(&format!(
                "date {}: {} built, {} unchanged, {} failed, {} blocked, {} skipped",
                o.ds,
                o.built(),
                o.unchanged(),
                o.failed(),
                o.blocked(),
                o.skipped()
            ));
        }
    }
}

/// One line describing a finished stage.
pub fn stage_line(r: &StageResult) -> String {
    match &r.status {
        StageStatus::Succeeded { output } => {
            let mut line = format!(
                "ok      {:<32} {:<4} {:>10} rows {:>4} files {:>10} {:>7.2}s",
                r.stage,
                r.layer,
                output.rows,
                output.files,
                human_bytes(output.bytes),
                output.elapsed.as_secs_f64()
            );
            if output.spilled_bytes > 0 {
                line.push_str(&format!(
                    "  spilled {} in {} files",
                    human_bytes(output.spilled_bytes),
                    output.spill_files
                ));
            }
            line
        }
        StageStatus::Blocked { failed_checks, .. } => format!(
            "BLOCKED {:<32} {:<4} failed checks: {} (not published)",
            r.stage,
            r.layer,
            crate::checks::describe_blocking(&r.checks, failed_checks)
        ),
        StageStatus::Failed { error } => format!("FAILED  {:<32} {:<4} {error}", r.stage, r.layer),
        StageStatus::Skipped { because } => {
            format!("skipped {:<32} {:<4} {because}", r.stage, r.layer)
        }
        StageStatus::Unchanged { .. } => format!(
            "unchanged {:<30} {:<4} code and inputs as published",
            r.stage, r.layer
        ),
        StageStatus::Scratch { output } => format!(
            "scratch {:<32} {:<4} {:>10} rows, for this date's partitions (not published)",
            r.stage, r.layer, output.rows
        ),
    }
}

impl RunObserver for Progress {
    fn run_started(&self, run_id: &str, stages: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(stages as u64);
            bar.set_position(0);
            bar.set_message(format!("run {run_id}"));
        }
        tracing::info!(run_id, stages, "run started");
    }

    fn stage_started(&self, stage: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(stage.to_string());
        }
        tracing::debug!(stage, "stage started");
    }

    fn stage_finished(&self, r: &StageResult) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        match &r.status {
            StageStatus::Succeeded { output } => tracing::info!(
                stage = %r.stage, rows = output.rows, files = output.files, bytes = output.bytes,
                spilled_bytes = output.spilled_bytes, seconds = output.elapsed.as_secs_f64(),
                "stage published"
            ),
            StageStatus::Failed { error } => {
                tracing::warn!(stage = %r.stage, %error, "stage failed")
            }
            StageStatus::Skipped { because } => {
                tracing::warn!(stage = %r.stage, %because, "stage skipped")
            }
            StageStatus::Blocked { failed_checks, .. } => {
                tracing::warn!(stage = %r.stage, checks = ?failed_checks, "stage blocked by checks")
            }
            StageStatus::Unchanged { .. } => tracing::info!(stage = %r.stage, "stage unchanged"),
            StageStatus::Scratch { output } => {
                tracing::info!(stage = %r.stage, rows = output.rows, "scratch copy built")
            }
        }
        let failed = !matches!(
            r.status,
            StageStatus::Succeeded { .. }
                | StageStatus::Unchanged { .. }
                | StageStatus::Scratch { .. }
        );
        if !self.quiet || failed {
            self.line(&stage_line(r));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if let Some(bar) = &self.dates {
            bar.finish_and_clear();
        }
    }
}
