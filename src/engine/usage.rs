//! What a stage cost the process: CPU seconds (user + system, all threads) and peak resident
//! memory. Shown on the run summary and kept in the run record, so a slow or memory-hungry
//! stage is found without a profiler.
//!
//! CPU time is the process clock (`CLOCK_PROCESS_CPUTIME_ID`, through rustix). A stage's peak
//! memory is the largest resident set size (`/proc/self/statm`) a sampling thread sees while the
//! stage runs, every 20 ms: short spikes between samples are missed, and the process-wide high
//! -water mark (`VmHWM`, [`process_peak_rss`]) stays untouched for outside tools such as
//! `getrusage`. Where `/proc` is not available the peaks are `None`. Stages run one at a time, so
//! a stage's figures are its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// CPU time the process has used so far (user + system, every thread).
pub fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        t.tv_sec.max(0) as u64,
        t.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The resident set size now, bytes.
fn current_rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * rustix::param::page_size() as u64)
}

/// A measurement in progress; see [`Meter::start`].
pub struct Meter {
    cpu: Duration,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

/// What a [`Meter`] measured.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    /// CPU seconds, user + system, of every thread of the process.
    pub cpu_seconds: f64,
    /// Peak resident memory of the process while measured, bytes (sampled every 20 ms); `None`
    /// where the platform cannot tell.
    pub peak_rss_bytes: Option<u64>,
}

impl Meter {
    /// Start measuring: note the CPU clock and start sampling resident memory.
    pub fn start() -> Meter {
        let peak = Arc::new(AtomicU64::new(current_rss().unwrap_or(0)));
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = current_rss().is_some().then(|| {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Some(rss) = current_rss() {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        });
        Meter {
            cpu: cpu_time(),
            peak,
            stop,
            sampler,
        }
    }

    /// CPU seconds and peak memory since [`Meter::start`].
    pub fn finish(mut self) -> Cost {
        let cpu = cpu_time().saturating_sub(self.cpu);
        self.stop.store(true, Ordering::Relaxed);
        let sampled = self.sampler.take().map(|t| {
            let _ = t.join();
            if let Some(rss) = current_rss() {
                self.peak.fetch_max(rss, Ordering::Relaxed);
            }
            self.peak.load(Ordering::Relaxed)
        });
        Cost {
            cpu_seconds: cpu.as_secs_f64(),
            peak_rss_bytes: sampled,
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The process's peak resident memory so far (`VmHWM`), bytes; `None` where `/proc` is not
/// available.
pub fn process_peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
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
            // VmHWM is the kernel's high-water mark of the same counter statm reads, but the
            // kernel folds each thread's page counts into it in batches (64 pages a thread), so
            // a statm sample can be ahead of it by a few hundred KiB per thread for a moment.
            let slack = 8 << 20;
            assert!(process_peak_rss().unwrap() + slack >= peak, "{cost:?}");
        }
        drop(block);
    }
}
