//! Releases: how a run's outputs become visible to readers all at once.
//!
//! A run builds a complete new tree `_releases/<run_id>/` next to the current one: it starts as a
//! copy of the current release (hard links on local disks, server-side copies on object stores),
//! and each stage whose output passed its checks replaces its table (or, for a partitioned stage,
//! its `ds=` partition) in that tree. Readers never look at a pending tree. When the run ends, one
//! atomic step makes the new tree current:
//!
//! - everywhere: `_meta/current.json` names the release (written with a conditional put where the
//!   store supports it, so two writers cannot both win);
//! - on local disks also: the symlink `<root>/current` is replaced with `rename(2)`, and the stable
//!   reader paths `<root>/<layer>` point through it, so a report tool reading
//!   `<root>/ads/ads_rfm_score/*.parquet` sees one release or the other, never a mix.
//!
//! The previous releases stay on disk (`keep_releases`) for `strata rollback`. Trees of runs that
//! died are removed by the next run.

use object_store::ObjectStoreExt;
use object_store::path::Path as ObjPath;
use serde::{Deserialize, Serialize};

use super::Warehouse;
use crate::error::{Result, StrataError};
use crate::model::Layer;

pub const RELEASES: &str = "_releases";
pub const STAGING: &str = "_staging";
pub const POINTER: &str = "_meta/current.json";
/// Written into a release tree once it is complete, just before it becomes current.
pub const MARKER: &str = "_release.json";

/// What `_meta/current.json` and a release's completion marker hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasePointer {
    pub run_id: String,
    pub ds: String,
    pub published_at: String,
    /// The release this one was built from (absent for the first release, and in markers
    /// written before it was recorded); `strata rollback` without `--to` returns to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// In a completion marker: false from just before the release is made current until it
    /// is. A tree whose marker stays false (its run died in between, or lost the pointer to
    /// another run) never became a release. Absent in older markers, which count as published.
    #[serde(default = "published_default")]
    pub published: bool,
}

fn published_default() -> bool {
    true
}

/// A sortable, unique run id: UTC time plus a random suffix.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = chrono::Utc::now();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
    format!(
        "{}-{:06x}",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        h.finish() & 0xff_ffff
    )
}

/// The release tree directory of a run, relative to the root.
pub fn release_dir(run_id: &str) -> String {
    format!("{RELEASES}/{run_id}")
}

/// A table's directory inside a release, relative to the root.
pub fn table_dir(run_id: &str, layer: Layer, table: &str) -> String {
    format!("{RELEASES}/{run_id}/{layer}/{table}")
}

/// A stage's staging directory for a run, relative to the root.
pub fn staging_dir(run_id: &str, layer: Layer, table: &str) -> String {
    format!("{STAGING}/{run_id}/{layer}/{table}")
}

impl Warehouse {
    /// The current release, if any run has published. On local disks the `current` symlink is
    /// the commit point (readers follow it); elsewhere `_meta/current.json` is.
    pub async fn current_release(&self) -> Result<Option<ReleasePointer>> {
        if let Some(root) = &self.local_root
            && let Ok(target) = std::fs::read_link(root.join("current"))
            && let Some(id) = target.file_name().and_then(|n| n.to_str())
        {
            let marker = self.path(&format!("{}/{MARKER}", release_dir(id)));
            if let Some(bytes) = self.get(&marker).await? {
                return serde_json::from_slice(&bytes).map(Some).map_err(|source| {
                    StrataError::Record {
                        path: marker.to_string(),
                        source,
                    }
                });
            }
        }
        let path = self.path(POINTER);
        let Some(bytes) = self.get(&path).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| StrataError::Record {
                path: path.to_string(),
                source,
            })
    }

    /// Release ids present under `_releases/`, oldest first.
    pub async fn release_ids(&self) -> Result<Vec<String>> {
        self.child_dirs(&self.path(RELEASES)).await
    }

    /// Make `pointer` the current release, provided the current one is still `expected` (the
    /// release the caller planned on; `None` for none yet). On object stores the pointer is
    /// written with a conditional put (`If-Match` on the pointer's ETag, or create-if-absent),
    /// so of two writers that read the same pointer only one wins; the other gets
    /// [`StrataError::ReleaseMoved`] and its release does not become current. On local disks
    /// the run lock serializes writers and the symlink swap is the commit.
    pub async fn set_current(
        &self,
        pointer: &ReleasePointer,
        expected: Option<&str>,
    ) -> Result<()> {
        let path = self.path(POINTER);
        let body = serde_json::to_vec_pretty(pointer).map_err(|source| StrataError::Record {
            path: path.to_string(),
            source,
        })?;
        if let Some(root) = &self.local_root {
            swap_local_links(root, &pointer.run_id)?;
            return self.put(&path, body).await;
        }
        let moved = |now: String| StrataError::ReleaseMoved {
            planned_on: expected.unwrap_or("(none)").to_string(),
            now,
        };
        let mode = match self.store.get(&path).await {
            Ok(found) => {
                let version = object_store::UpdateVersion {
                    e_tag: found.meta.e_tag.clone(),
                    version: found.meta.version.clone(),
                };
                let bytes = found
                    .bytes()
                    .await
                    .map_err(|e| Self::storage_error("read", &path, e))?;
                let now = serde_json::from_slice::<ReleasePointer>(&bytes)
                    .map(|p| p.run_id)
                    .unwrap_or_else(|_| "(unreadable pointer)".into());
                if Some(now.as_str()) != expected {
                    return Err(moved(now));
                }
                object_store::PutMode::Update(version)
            }
            Err(object_store::Error::NotFound { .. }) if expected.is_none() => {
                object_store::PutMode::Create
            }
            Err(object_store::Error::NotFound { .. }) => return Err(moved("(none)".into())),
            Err(e) => return Err(Self::storage_error("read", &path, e)),
        };
        match self
            .store
            .put_opts(
                &path,
                object_store::PutPayload::from(body),
                object_store::PutOptions::from(mode),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Err(moved("(written by another run meanwhile)".into())),
            Err(e) => Err(Self::storage_error("write", &path, e)),
        }
    }
}

/// Point `<root>/current` at the release atomically and make sure the per-layer reader links exist.
fn swap_local_links(root: &std::path::Path, run_id: &str) -> Result<()> {
    let io = |operation: &'static str, path: std::path::PathBuf| {
        move |source| StrataError::Io {
            operation,
            path,
            source,
        }
    };
    let tmp = root.join(format!(".current.{run_id}"));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(release_dir(run_id), &tmp)
        .map_err(io("create symlink", tmp.clone()))?;
    let current = root.join("current");
    std::fs::rename(&tmp, &current).map_err(io("replace symlink", current.clone()))?;
    for layer in [Layer::Dwd, Layer::Dws, Layer::Ads] {
        let link = root.join(layer.as_str());
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("current/{layer}"), &link)
                .map_err(io("create symlink", link.clone()))?;
        }
    }
    Ok(())
}

/// A release being assembled by a run.
#[derive(Debug, Clone)]
pub struct PendingRelease {
    pub run_id: String,
    /// The release this one started from.
    pub base: Option<String>,
}

impl PendingRelease {
    /// Start a release for `run_id` as a copy of the current one.
    pub async fn begin(wh: &Warehouse, run_id: &str) -> Result<PendingRelease> {
        let base = wh.current_release().await?.map(|p| p.run_id);
        let target = wh.path(&release_dir(run_id));
        wh.delete_prefix(&target).await?;
        if let Some(base_id) = &base {
            let from_root = wh.path(&release_dir(base_id));
            for meta in wh.list(&from_root).await? {
                let Some(parts) = meta.location.prefix_match(&from_root) else {
                    continue;
                };
                let parts: Vec<_> = parts.collect();
                // The base's completion marker is not copied: the new tree is complete only
                // once its own run writes one (a copied marker made a killed run's tree look
                // complete, count as a kept release and be offered to rollback).
                if parts.len() == 1 && parts[0].as_ref() == MARKER {
                    continue;
                }
                let mut to = target.clone();
                for p in parts {
                    to = to.join(p);
                }
                wh.copy(&meta.location, &to).await?;
            }
        }
        Ok(PendingRelease {
            run_id: run_id.to_string(),
            base,
        })
    }

    /// The directory of `table` in this release, relative to the root.
    pub fn table_dir(&self, layer: Layer, table: &str) -> String {
        table_dir(&self.run_id, layer, table)
    }

    /// Move a stage's staged output, exactly the data files `files` (under `staged`, or under
    /// its `partition` directory), into this release, replacing the table, or only the `ds`
    /// partition when `partition` is given (as `ds=YYYY-MM-DD`). Anything else in the staging
    /// directory stays there (and goes with the run's staging debris).
    pub async fn publish(
        &self,
        wh: &Warehouse,
        staged: &str,
        files: &[ObjPath],
        layer: Layer,
        table: &str,
        partition: Option<&str>,
    ) -> Result<()> {
        let mut target_rel = self.table_dir(layer, table);
        let mut staged_rel = staged.to_string();
        if let Some(part) = partition {
            target_rel = format!("{target_rel}/{part}");
            staged_rel = format!("{staged_rel}/{part}");
        }
        let target = wh.path(&target_rel);
        wh.delete_prefix(&target).await?;
        let from_root = wh.path(&staged_rel);
        for file in files {
            let Some(parts) = file.prefix_match(&from_root) else {
                continue;
            };
            let mut to: ObjPath = target.clone();
            for p in parts {
                to = to.join(p);
            }
            wh.rename(file, &to).await?;
        }
        Ok(())
    }

    /// Make this release current, then keep `keep` releases (see [`prune`]).
    pub async fn commit(&self, wh: &Warehouse, ds: &str, keep: usize) -> Result<ReleasePointer> {
        let mut pointer = ReleasePointer {
            run_id: self.run_id.clone(),
            ds: ds.to_string(),
            published_at: chrono::Utc::now().to_rfc3339(),
            base: self.base.clone(),
            published: false,
        };
        // The marker goes in first (local readers find the release through it), marked not
        // yet published; once the pointer has moved it says so.
        write_marker(wh, &pointer).await?;
        pointer.published = true;
        wh.set_current(&pointer, self.base.as_deref()).await?;
        write_marker(wh, &pointer).await?;
        prune(wh, &pointer, keep).await?;
        Ok(pointer)
    }
}

/// Writes `pointer` as the completion marker of its release tree.
async fn write_marker(wh: &Warehouse, pointer: &ReleasePointer) -> Result<()> {
    let marker = wh.path(&format!("{}/{MARKER}", release_dir(&pointer.run_id)));
    let body = serde_json::to_vec_pretty(pointer).map_err(|source| StrataError::Record {
        path: marker.to_string(),
        source,
    })?;
    wh.put(&marker, body).await
}

/// Remove what runs that died left behind: all staging areas and every release tree that was
/// never completed. Call only while holding the run lock.
pub async fn remove_debris(wh: &Warehouse) -> Result<()> {
    for run in wh.child_dirs(&wh.path(STAGING)).await? {
        wh.delete_prefix(&wh.path(&format!("{STAGING}/{run}")))
            .await?;
    }
    let current = wh.current_release().await?;
    // A run that died between moving the pointer and marking its release published: the
    // release is current, so it is one.
    if let Some(p) = current.as_ref().filter(|p| !p.published) {
        write_marker(
            wh,
            &ReleasePointer {
                published: true,
                ..p.clone()
            },
        )
        .await?;
    }
    let current = current.map(|p| p.run_id);
    for id in wh.release_ids().await? {
        if Some(&id) == current.as_ref() {
            continue;
        }
        if completed(wh, &id).await?.is_none() {
            tracing::info!(release = %id, "removing an incomplete release left by a stopped run");
            wh.delete_prefix(&wh.path(&release_dir(&id))).await?;
        }
    }
    if let Some(root) = &wh.local_root
        && let Ok(entries) = std::fs::read_dir(root)
    {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".current.") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

/// The completion marker of release `id`, when the tree has its own: a marker naming another
/// release (copied from the base by a strata before 2026-11-30 into a tree whose run then
/// died) does not make a tree complete.
async fn completed(wh: &Warehouse, id: &str) -> Result<Option<ReleasePointer>> {
    let marker = wh.path(&format!("{}/{MARKER}", release_dir(id)));
    Ok(wh
        .get(&marker)
        .await?
        .and_then(|bytes| serde_json::from_slice::<ReleasePointer>(&bytes).ok())
        .filter(|p| p.run_id == id && p.published))
}

/// Completed releases, oldest first.
pub async fn complete_releases(wh: &Warehouse) -> Result<Vec<ReleasePointer>> {
    let mut out = Vec::new();
    for id in wh.release_ids().await? {
        if let Some(p) = completed(wh, &id).await? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Make an earlier complete release current: `to`, or else the release the current one was
/// built from (its `base`), or, for releases that do not record it, the newest complete release
/// published before it. Following bases walks back the history a rolled-back release was not
/// part of: after W, X, a rollback to W and a new Y built on W, the next rollback returns to W.
pub async fn rollback(wh: &Warehouse, to: Option<&str>) -> Result<ReleasePointer> {
    let current = wh.current_release().await?.ok_or(StrataError::NoRelease)?;
    let releases = complete_releases(wh).await?;
    let available: Vec<String> = releases
        .iter()
        .filter(|r| r.run_id != current.run_id)
        .map(|r| r.run_id.clone())
        .collect();
    let target = match to {
        Some(id) => releases
            .iter()
            .find(|r| r.run_id == id && id != current.run_id),
        None => match current.base.as_deref() {
            Some(base) => releases.iter().find(|r| r.run_id == base),
            None => releases
                .iter()
                .filter(|r| r.published_at < current.published_at)
                .max_by(|a, b| a.published_at.cmp(&b.published_at)),
        },
    };
    let Some(target) = target else {
        return Err(StrataError::UnknownRelease {
            run_id: to
                .map(str::to_string)
                .or_else(|| current.base.clone())
                .unwrap_or_else(|| "(previous)".into()),
            available,
        });
    };
    wh.set_current(target, Some(&current.run_id)).await?;
    Ok(target.clone())
}

/// Keep `keep` releases, the current one included: first the releases `strata rollback` walks
/// back to (the current one's base, that one's base, ...), then the newest others; remove the
/// rest of the complete releases (incomplete trees are the debris [`remove_debris`] removes).
pub async fn prune(wh: &Warehouse, current: &ReleasePointer, keep: usize) -> Result<()> {
    let releases = complete_releases(wh).await?;
    let mut kept = vec![current.run_id.clone()];
    let mut at = current.base.clone();
    while kept.len() < keep {
        let Some(release) = at.and_then(|id| releases.iter().find(|r| r.run_id == id)) else {
            break;
        };
        kept.push(release.run_id.clone());
        at = release.base.clone();
    }
    for r in releases.iter().rev() {
        if kept.len() >= keep {
            break;
        }
        if !kept.contains(&r.run_id) {
            kept.push(r.run_id.clone());
        }
    }
    for r in releases.iter().filter(|r| !kept.contains(&r.run_id)) {
        wh.delete_prefix(&wh.path(&release_dir(&r.run_id))).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer(id: &str) -> ReleasePointer {
        ReleasePointer {
            run_id: id.into(),
            ds: "2026-11-21".into(),
            published_at: "2026-11-30T00:00:00+00:00".into(),
            base: None,
            published: true,
        }
    }

    /// On an object store the pointer moves only from the release the writer planned on.
    #[tokio::test]
    async fn the_pointer_moves_only_from_the_expected_release() {
        let wh = Warehouse::open("memory://pointer-cas/wh", std::path::Path::new(".")).unwrap();
        let moved = |r: Result<()>| match r {
            Err(StrataError::ReleaseMoved { now, .. }) => now,
            other => panic!("expected ReleaseMoved, got {other:?}"),
        };
        wh.set_current(&pointer("r1"), None).await.unwrap();
        // A second "first release" loses: r1 is there.
        assert_eq!(moved(wh.set_current(&pointer("r2"), None).await), "r1");
        // A writer that planned on another release loses.
        assert_eq!(
            moved(wh.set_current(&pointer("r2"), Some("r0")).await),
            "r1"
        );
        wh.set_current(&pointer("r2"), Some("r1")).await.unwrap();
        assert_eq!(wh.current_release().await.unwrap().unwrap().run_id, "r2");
        // The writer that also planned on r1 comes second and loses.
        assert_eq!(
            moved(wh.set_current(&pointer("r3"), Some("r1")).await),
            "r2"
        );
        assert_eq!(wh.current_release().await.unwrap().unwrap().run_id, "r2");
    }

    /// Only the files the stage's write produced are published: a file that appeared in the
    /// staging directory afterwards (a lost executor's late write attempt) stays behind.
    #[tokio::test]
    async fn only_the_given_files_are_published() {
        let wh = Warehouse::open("memory://publish-files/wh", std::path::Path::new(".")).unwrap();
        let pending = PendingRelease::begin(&wh, "r1").await.unwrap();
        for name in ["aaaa_0.parquet", "aaaa_1.parquet", "late_0.parquet"] {
            wh.put(
                &wh.path(&format!("_staging/r1/dws/t/{name}")),
                b"x".to_vec(),
            )
            .await
            .unwrap();
        }
        let written = [
            wh.path("_staging/r1/dws/t/aaaa_0.parquet"),
            wh.path("_staging/r1/dws/t/aaaa_1.parquet"),
        ];
        pending
            .publish(&wh, "_staging/r1/dws/t", &written, Layer::Dws, "t", None)
            .await
            .unwrap();
        let names = |dir: &str| {
            let wh = &wh;
            let dir = dir.to_string();
            async move {
                wh.list(&wh.path(&dir))
                    .await
                    .unwrap()
                    .iter()
                    .map(|m| m.location.filename().unwrap().to_string())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            names(&pending.table_dir(Layer::Dws, "t")).await,
            ["aaaa_0.parquet", "aaaa_1.parquet"]
        );
        assert_eq!(names("_staging/r1/dws/t").await, ["late_0.parquet"]);
    }
}
