//! Progress while a run goes on: a bar on a terminal, one plain line per stage otherwise. Both go
//! to stderr so stdout stays clean for results.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::human_bytes;
use crate::app::run::{RunObserver, StageResult, StageStatus};

pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Self { bar, quiet }
    }

    #[allow(clippy::print_stderr)]
    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
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
            failed_checks.join(", ")
        ),
        StageStatus::Failed { error } => format!("FAILED  {:<32} {:<4} {error}", r.stage, r.layer),
        StageStatus::Skipped { because } => {
            format!("skipped {:<32} {:<4} {because}", r.stage, r.layer)
        }
    }
}

impl RunObserver for Progress {
    fn run_started(&self, run_id: &str, stages: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(stages as u64);
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
        }
        let failed = !matches!(r.status, StageStatus::Succeeded { .. });
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
    }
}
