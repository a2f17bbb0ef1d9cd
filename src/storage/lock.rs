//! The run lock: one run at a time per warehouse.
//!
//! `_meta/lock.json` is created with a create-if-absent put, which is atomic on local disks
//! (hard link) and on object stores with conditional writes, so of two runs that start together
//! exactly one gets it. The file names its holder (run id, host, pid, start time). A lock whose
//! holder is provably gone (same host, no such process) is taken over automatically;
//! `--break-lock` takes over any lock.

use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::Warehouse;
use crate::error::{Result, StrataError};

pub const LOCK: &str = "_meta/lock.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    pub run_id: String,
    pub host: String,
    pub pid: u32,
    pub started_at: String,
    /// The holder's machine: its kernel boot id and PID namespace
    /// (`/proc/sys/kernel/random/boot_id`, `/proc/self/ns/pid`), so that two machines or
    /// containers with the same host name are not taken for one. Absent in locks written
    /// before it was recorded, and where `/proc` does not tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {} on host {} (pid {}), started {}",
            self.run_id, self.host, self.pid, self.started_at
        )
    }
}

/// This machine's host name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// This machine's kernel boot id and PID namespace, where `/proc` tells both.
pub fn machine_id() -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{} {}", boot.trim(), ns.display()))
}

impl LockHolder {
    pub fn me(run_id: &str) -> Self {
        Self {
            run_id: run_id.to_string(),
            host: host_name(),
            pid: std::process::id(),
            started_at: chrono::Utc::now().to_rfc3339(),
            machine: machine_id(),
        }
    }

    /// True when the holder ran on this machine (same host name and, when the lock records it,
    /// the same boot id and PID namespace) and its process no longer exists. A holder on
    /// another machine is never provably dead: `--break-lock` takes its lock over.
    pub fn provably_dead(&self) -> bool {
        self.host == host_name()
            && self
                .machine
                .as_ref()
                .is_none_or(|m| Some(m) == machine_id().as_ref())
            && self.pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// A held lock; call [`RunLock::release`] when the run ends.
#[derive(Debug)]
pub struct RunLock {
    pub holder: LockHolder,
}

impl RunLock {
    /// Take the lock for `run_id`, or fail naming the holder.
    pub async fn acquire(wh: &Warehouse, run_id: &str, break_lock: bool) -> Result<RunLock> {
        let me = LockHolder::me(run_id);
        let path = wh.path(LOCK);
        let body = serde_json::to_vec_pretty(&me).map_err(|source| StrataError::Record {
            path: path.to_string(),
            source,
        })?;
        for _ in 0..2 {
            let put = wh
                .store
                .put_opts(
                    &path,
                    PutPayload::from(body.clone()),
                    PutOptions::from(PutMode::Create),
                )
                .await;
            match put {
                Ok(_) => return Ok(RunLock { holder: me }),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let holder = match wh.get(&path).await? {
                        Some(bytes) => serde_json::from_slice::<LockHolder>(&bytes).ok(),
                        None => continue,
                    };
                    // An unreadable lock was not written by a strata run that died: only
                    // --break-lock takes it over.
                    if holder.is_none() && !break_lock {
                        return Err(StrataError::UnreadableLock {
                            path: format!("{}/{LOCK}", wh.display.trim_end_matches('/')),
                        });
                    }
                    let stale = holder.as_ref().is_some_and(LockHolder::provably_dead);
                    if break_lock || stale {
                        tracing::warn!(holder = ?holder, "taking over a stale run lock");
                        wh.store
                            .delete(&path)
                            .await
                            .map_err(|source| StrataError::Storage {
                                operation: "delete",
                                path: path.to_string(),
                                source,
                            })?;
                        continue;
                    }
                    return Err(StrataError::Locked {
                        holder: holder.expect("checked above"),
                    });
                }
                Err(source) => {
                    return Err(StrataError::Storage {
                        operation: "create lock",
                        path: path.to_string(),
                        source,
                    });
                }
            }
        }
        Err(StrataError::LockContended)
    }

    /// Fails with [`StrataError::LockLost`] when `_meta/lock.json` no longer names this run:
    /// another run took the lock over (`--break-lock`) and may have removed this run's tree as
    /// debris, so this run must not publish.
    pub async fn ensure_held(wh: &Warehouse, run_id: &str) -> Result<()> {
        let holder = wh
            .get(&wh.path(LOCK))
            .await?
            .and_then(|bytes| serde_json::from_slice::<LockHolder>(&bytes).ok());
        match holder {
            Some(h) if h.run_id == run_id => Ok(()),
            Some(h) => Err(StrataError::LockLost {
                holder: h.to_string(),
            }),
            None => Err(StrataError::LockLost {
                holder: "nobody (the lock is gone)".into(),
            }),
        }
    }

    /// Remove the lock if it is still ours.
    pub async fn release(self, wh: &Warehouse) -> Result<()> {
        let path = wh.path(LOCK);
        if let Some(bytes) = wh.get(&path).await?
            && serde_json::from_slice::<LockHolder>(&bytes).ok().as_ref() == Some(&self.holder)
        {
            let _ = wh.store.delete(&path).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run whose lock another run took over (`--break-lock`) learns it before publishing.
    #[tokio::test]
    async fn a_lock_taken_over_is_noticed() {
        let wh = Warehouse::open("memory://lock-lost/wh", std::path::Path::new(".")).unwrap();
        let lock = RunLock::acquire(&wh, "r1", false).await.unwrap();
        RunLock::ensure_held(&wh, "r1").await.unwrap();
        let other = RunLock::acquire(&wh, "r2", true).await.unwrap();
        match RunLock::ensure_held(&wh, "r1").await {
            Err(StrataError::LockLost { holder }) => assert!(holder.starts_with("run r2 on host")),
            other => panic!("expected LockLost, got {other:?}"),
        }
        // r1's release of its lock leaves r2's alone.
        lock.release(&wh).await.unwrap();
        RunLock::ensure_held(&wh, "r2").await.unwrap();
        other.release(&wh).await.unwrap();
        assert!(matches!(
            RunLock::ensure_held(&wh, "r2").await,
            Err(StrataError::LockLost { .. })
        ));
    }
}
