//! The run summary's cost line: the three slowest stages (wall seconds, CPU seconds, sampled
//! peak resident memory) and the process's peak resident memory, so the stage to look at first
//! is named without a profiler.

use crate::app::run::{RunOutcome, StageStatus};
use crate::engine::stage::StageOutput;

use super::human_bytes;

/// `slowest: a 12.3 s (CPU 20.1 s, peak 1.2 GB), ...; peak RSS 3.4 GB`; `None` when no stage
/// ran.
pub fn cost_line(o: &RunOutcome, process_peak: Option<u64>) -> Option<String> {
    let mut ran: Vec<(&str, &StageOutput)> = o
        .stages
        .iter()
        .filter_map(|r| match &r.status {
            StageStatus::Succeeded { output }
            | StageStatus::Blocked { output, .. }
            | StageStatus::Scratch { output } => Some((r.stage.as_str(), output)),
            _ => None,
        })
        .collect();
    if ran.is_empty() {
        return None;
    }
    ran.sort_by(|a, b| b.1.elapsed.cmp(&a.1.elapsed).then(a.0.cmp(b.0)));
    let slowest: Vec<String> = ran
        .iter()
        .take(3)
        .map(|(name, out)| {
            let peak = out
                .cost
                .peak_rss_bytes
                .map(|b| format!(", peak {}", human_bytes(b)))
                .unwrap_or_default();
            format!(
                "{name} {:.1} s (CPU {:.1} s{peak})",
                out.elapsed.as_secs_f64(),
                out.cost.cpu_seconds
            )
        })
        .collect();
    let peak = process_peak
        .map(|b| format!("; peak RSS {}", human_bytes(b)))
        .unwrap_or_default();
    Some(format!("slowest: {}{peak}", slowest.join(", ")))
}
