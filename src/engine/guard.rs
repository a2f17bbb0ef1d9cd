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

/// After a stage was stopped, wait until resident memory is back under `target` (see
/// [`settle_target`]): the stopped stage's tasks finish their current step before they notice.
/// False if it stays above for `patience`.
pub async fn settle(target: u64, patience: Duration) -> bool {
    let started = std::time::Instant::now();
    loop {
        match resident_bytes() {
            Some(now) if now > target => {}
            _ => return true,
        }
        if started.elapsed() > patience {
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
