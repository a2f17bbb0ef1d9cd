//! What a stage cost the process: CPU seconds (user + system, all threads) and peak resident
//! memory. Shown on the run summary and kept in the run record, so a slow or memory-hungry
//! stage is found without a profiler.
//!
//! CPU time is the process clock (`CLOCK_PROCESS_CPUTIME_ID`, through rustix). Peak memory is
//! Linux's high-water mark of resident memory (`VmHWM` in `/proc/self/status`), which a write of
//! `5` to `/proc/self/clear_refs` resets (proc(5)); each stage resets it when it starts and reads
//! it when it ends, and the process keeps the largest value seen in [`process_peak_rss`]. Where
//! `/proc` is not available the peak is `None`. Stages run one at a time, so a stage's figures
//! are its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The largest high-water mark read so far, in bytes.
static PROCESS_PEAK: AtomicU64 = AtomicU64::new(0);

/// CPU time the process has used so far (user + system, every thread).
pub fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The resident-memory high-water mark since the last reset, in bytes.
fn high_water_mark() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    let bytes = kib * 1024;
    PROCESS_PEAK.fetch_max(bytes, Ordering::Relaxed);
    Some(bytes)
}

/// A measurement in progress; see [`Meter::start`].
pub struct Meter {
    cpu: Duration,
    peak_reset: bool,
}

/// What a [`Meter`] measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    /// CPU seconds, user + system, of every thread of the process.
    pub cpu_seconds: f64,
    /// Peak resident memory of the process while measured, bytes; `None` where the platform
    /// cannot tell.
    pub peak_rss_bytes: Option<u64>,
}

impl Meter {
    /// Start measuring: note the CPU clock and reset the memory high-water mark (after
    /// keeping the mark so far for [`process_peak_rss`]).
    pub fn start() -> Meter {
        high_water_mark();
        let peak_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
        Meter {
            cpu: cpu_time(),
            peak_reset,
        }
    }

    /// CPU seconds and peak memory since [`Meter::start`].
    pub fn finish(self) -> Cost {
        let cpu = cpu_time().saturating_sub(self.cpu);
        let peak = high_water_mark().filter(|_| self.peak_reset);
        Cost {
            cpu_seconds: cpu.as_secs_f64(),
            peak_rss_bytes: peak,
        }
    }
}

/// The process's peak resident memory so far, bytes (the largest mark any meter saw, or the
/// current one); `None` where `/proc` is not available.
pub fn process_peak_rss() -> Option<u64> {
    high_water_mark()?;
    Some(PROCESS_PEAK.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meter_sees_work_and_memory() {
        let meter = Meter::start();
        // Touch 64 MiB and spin a little.
        let block = vec![1u8; 64 << 20];
        let mut x = 0u64;
        for (i, b) in block.iter().enumerate().step_by(4096) {
            x = x.wrapping_add(u64::from(*b) * i as u64);
        }
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let cost = meter.finish();
        assert!(cost.cpu_seconds >= 0.02, "{cost:?}");
        if let Some(peak) = cost.peak_rss_bytes {
            assert!(peak >= 64 << 20, "{cost:?}");
            assert!(process_peak_rss().unwrap() >= peak);
        }
        drop(block);
    }
}
