//! The process's resident-memory ceiling.
//!
//! The memory limit binds what the engine's operators reserve from its pool, and the operators
//! that can spill stay inside it. Some memory is never reserved: DataFusion 55's window
//! operators buffer their whole input without asking the pool, and decoders, writers and the
//! allocator hold more besides. So that such a stage ends in an error rather than in the
//! operating system killing the process, a run watches its resident memory while a stage runs
//! and stops the stage when it passes the ceiling: by default the smaller of 75% of the
//! machine's memory and the larger of four times the limit and the limit plus 2 GB.
//!
//! A stage is stopped at its operators' next yield. One step that runs without yielding (a
//! window operator concatenating the input it buffered) still completes, so resident memory
//! can pass the ceiling by what that step allocates; the margin to the machine's memory is
//! there for it. Before the next stage starts, the run waits for memory to come back down.
//!
//! Resident memory is read from `/proc/self/status`; where that file does not exist the
//! ceiling is not watched.

use std::time::Duration;

/// How often resident memory is sampled while a stage runs.
const EVERY: Duration = Duration::from_millis(50);

/// The default ceiling for a memory limit, given the machine's memory.
pub fn default_ceiling(limit: u64, machine: u64) -> u64 {
    let wanted = (limit.saturating_mul(4)).max(limit.saturating_add(2 << 30));
    wanted.min(machine / 4 * 3).max(limit)
}

/// The process's resident memory in bytes, where the system reports it.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kilobytes(&status, "VmRSS:")
}

/// A `Name:   1234 kB` line of a `/proc` file, in bytes.
pub(crate) fn kilobytes(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Resolves once resident memory passes `ceiling`, with the amount seen; never resolves where
/// the system does not report resident memory.
pub async fn exceeded(ceiling: u64) -> u64 {
    if resident_bytes().is_none() {
        return std::future::pending().await;
    }
    loop {
        tokio::time::sleep(EVERY).await;
        if let Some(now) = resident_bytes()
            && now > ceiling
        {
            return now;
        }
    }
}

/// The resident memory a run waits for after stopping a stage before it starts the next one:
/// the ceiling less the memory limit, so the next stage's pool fits under the ceiling (at
/// least half the ceiling when an explicit ceiling leaves less room than the limit). Waiting
/// only for the ceiling itself let the next stage pass it with its first reservations.
pub fn settle_target(ceiling: u64, limit: u64) -> u64 {
    ceiling.saturating_sub(limit).max(ceiling / 2)
}

/// How long memory may stay above the settle target while the process does no work before a
/// run gives up waiting: memory that is held by nothing still running will not come back.
pub const SETTLE_IDLE: Duration = Duration::from_secs(10);

/// The longest a run waits for memory to come back down, however busy the process is.
pub const SETTLE_CAP: Duration = Duration::from_secs(600);

/// Whether the process did work between two readings of its CPU clock (see
/// [`super::usage::cpu_time`]) `window` apart: at least a tenth of one core. Sampling memory
/// uses far less.
pub(crate) fn busy(before: Duration, after: Duration, window: Duration) -> bool {
    after.saturating_sub(before) >= window / 10
}

/// The function that makes the global allocator return the calling thread's freed memory to
/// the system; see [`set_release`].
static RELEASE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Installs `release`, which makes the process's allocator return the memory the calling thread
/// owns and no longer uses (the `strata` binary installs mimalloc's `mi_collect`). A thread-
/// caching allocator keeps blocks that one thread frees for another in the owner's lists until
/// the owner allocates again, so after a stopped stage is dropped, memory owned by idle worker
/// threads stays resident; [`settle`] calls `release` on the runtime's workers. Without it the
/// memory comes back only when those threads run or exit.
pub fn set_release(release: fn()) {
    let _ = RELEASE.set(release);
}

/// The function a run calls once it knows it has an explicit memory limit; see
/// [`set_on_memory_limit`].
static ON_MEMORY_LIMIT: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Installs `prepare`, which a run calls when it has an explicit memory limit (`--memory-limit`,
/// `STRATA_MEMORY_LIMIT` or the pipeline's `engine.memory_limit`), after reading its pipeline
/// and before reading any data. The `strata` binary installs one that starts the process again
/// with its large blocks mapped on their own, so that what a stage frees leaves the process at
/// once (see the binary's `allocator` module); `prepare` may not return.
pub fn set_on_memory_limit(prepare: fn()) {
    let _ = ON_MEMORY_LIMIT.set(prepare);
}

/// Calls the function installed by [`set_on_memory_limit`], if any, and makes [`stage_done`]
/// return freed memory from then on.
pub fn memory_limit_given() {
    if let Some(&prepare) = ON_MEMORY_LIMIT.get() {
        prepare();
    }
    LIMITED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the run has an explicit memory limit ([`memory_limit_given`] was called).
static LIMITED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Called by a run after each stage: under an explicit memory limit, the allocator's freed
/// memory (held per thread for reuse) goes back to the system on this thread and the runtime's
/// workers, so the next stage starts from what the run holds rather than from what the stages
/// before it freed. At 5,000,000 customers with `--memory-limit 4GB` the process peaked 1 GB
/// above what dws_customer_category_spend reached run alone (bench/NOTES.md). Without a limit
/// it does nothing: the freed memory is reused faster than it would be mapped again.
pub fn stage_done() {
    if LIMITED.load(std::sync::atomic::Ordering::Relaxed) {
        release_everywhere();
    }
}

/// Runs the installed release function on this thread and, as spawned tasks, on the runtime's
/// worker threads (several per worker, so that each worker picks at least one up).
fn release_everywhere() {
    let Some(&release) = RELEASE.get() else {
        return;
    };
    release();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        for _ in 0..runtime.metrics().num_workers() * 4 {
            runtime.spawn(async move { release() });
        }
    }
}

/// After a stage was stopped, wait until resident memory is back under `target` (see
/// [`settle_target`]). The stopped stage's tasks finish their current step before they notice,
/// and one step (a window operator evaluating everything it buffered) can run for seconds to
/// minutes, so the run waits while the process is still working. False once memory has stayed
/// above the target for `idle` with the process doing no work, or after `cap` in all.
pub async fn settle(target: u64, idle: Duration, cap: Duration) -> bool {
    const WINDOW: Duration = Duration::from_secs(1);
    let started = std::time::Instant::now();
    let mut idle_since = started;
    let mut last = (started, super::usage::cpu_time());
    release_everywhere();
    loop {
        match resident_bytes() {
            Some(now) if now > target => {}
            _ => return true,
        }
        let now = std::time::Instant::now();
        if now.duration_since(last.0) >= WINDOW {
            let cpu = super::usage::cpu_time();
            if busy(last.1, cpu, now.duration_since(last.0)) {
                idle_since = now;
            }
            last = (now, cpu);
            release_everywhere();
        }
        if now.duration_since(idle_since) > idle || now.duration_since(started) > cap {
            return false;
        }
        tokio::time::sleep(EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;
    const GB: u64 = 1 << 30;

    #[test]
    fn default_ceiling_leaves_room_above_the_limit_within_the_machine() {
        // Small limits get 2 GB of room: 256 MB + 2048 MB.
        assert_eq!(default_ceiling(256 * MB, 24 * GB), 2304 * MB);
        // Large limits get four times: 4 GB * 4 = 16 GB, under 75% of 24 GB (18 GB).
        assert_eq!(default_ceiling(4 * GB, 24 * GB), 16 * GB);
        // The machine caps it: 12 GB * 4 = 48 GB, but 75% of 24 GB is 18 GB.
        assert_eq!(default_ceiling(12 * GB, 24 * GB), 18 * GB);
        // Never below the limit itself.
        assert_eq!(default_ceiling(30 * GB, 24 * GB), 30 * GB);
    }

    #[test]
    fn settling_leaves_the_next_stage_room_for_its_pool() {
        // 300 MB ceiling, 64 MB pool: back under 236 MB.
        assert_eq!(settle_target(300 * MB, 64 * MB), 236 * MB);
        // A ceiling barely above the limit: half the ceiling.
        assert_eq!(settle_target(300 * MB, 256 * MB), 150 * MB);
    }

    #[test]
    fn a_tenth_of_a_core_is_busy() {
        let ms = Duration::from_millis;
        let second = ms(1000);
        assert!(busy(ms(1000), ms(1100), second));
        assert!(!busy(ms(1000), ms(1099), second));
        assert!(busy(ms(1000), ms(1200), 2 * second));
        assert!(!busy(ms(1000), ms(1000), second));
    }

    #[test]
    fn reads_kilobyte_lines() {
        let status = "Name:\tstrata\nVmPeak:\t  900 kB\nVmRSS:\t  1234 kB\n";
        assert_eq!(kilobytes(status, "VmRSS:"), Some(1234 * 1024));
        assert_eq!(kilobytes(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_reports_resident_memory_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().unwrap() > MB);
        }
    }
}
