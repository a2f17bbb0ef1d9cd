//! Partition state: the provenance of every published output, kept inside its release.
//!
//! Each release tree holds `_releases/<run_id>/_state.json`: for every full table and every
//! partition of a partitioned stage, the [`Provenance`] it was built with (code fingerprint,
//! input fingerprints, the run that built it). The file is written into the pending release
//! before the release's marker, so it becomes current in the same atomic step as the data, and
//! `strata rollback` brings back the provenance that matches the data it brings back.
//!
//! Invariants:
//! - A provenance `id` is a digest of the code fingerprint, the date and the input fingerprints
//!   only (never of who built it or when), so the id an output *would* have can be computed
//!   before anything runs, and two builds from the same code and inputs share it.
//! - Nothing here is personal data: stage and source names, file paths, sizes, modification
//!   times, digests and the pipeline's own variables.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Warehouse;
use super::release::release_dir;
use crate::error::{Result, StrataError};

/// The state file inside a release tree.
pub const STATE: &str = "_state.json";

/// One landed file as a stage read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFingerprint {
    pub path: String,
    pub size: u64,
    /// RFC 3339 modification time (or the store's equivalent).
    pub modified: String,
}

/// What a stage's code is: its SQL, its pipeline entry, the variables it reads and strata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFingerprint {
    /// Digest of everything below.
    pub digest: String,
    pub sql_sha256: String,
    pub entry_sha256: String,
    /// The values of the variables the SQL reads (`$name`), by name.
    pub vars: BTreeMap<String, String>,
    /// Digests of the pipeline settings that change what the stage writes: the settings of the
    /// functions its SQL calls (`timezone` for `business_date`, `intents` for `intent`, ...) and
    /// the output format (`parquet_compression`), by setting name.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    pub strata_version: String,
}

/// One input of an output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputFingerprint {
    /// An ODS source: the digest of every landed partition read (`ds=YYYY-MM-DD`, or `` for a
    /// source without `ds` partitions). The files of each digest are in [`ReleaseState::landings`].
    Source {
        source: String,
        digest: String,
        files: u64,
        bytes: u64,
        partitions: BTreeMap<String, String>,
    },
    /// Another stage's output: the provenance id of the table, or of its partition `ds`.
    Table {
        table: String,
        partition: Option<String>,
        /// `None` when the input had no recorded provenance.
        id: Option<String>,
    },
}

/// How one published output was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    pub id: String,
    pub stage: String,
    /// The partition's date, or the date a full table is as of.
    pub ds: String,
    pub code: CodeFingerprint,
    pub inputs: Vec<InputFingerprint>,
    /// The run that built it (empty for an expectation that was not built).
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub built_at: String,
}

/// The files of one landed partition, by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landing {
    pub source: String,
    pub partition: String,
    pub files: Vec<FileFingerprint>,
}

/// What `_state.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseState {
    /// The date the published full tables are as of: the latest date a run was made for.
    pub as_of: Option<String>,
    /// Full tables, by stage.
    pub tables: BTreeMap<String, Provenance>,
    /// Partitioned stages: stage -> `ds` -> provenance.
    pub partitions: BTreeMap<String, BTreeMap<String, Provenance>>,
    /// The files behind every source partition digest that an output above refers to.
    pub landings: BTreeMap<String, Landing>,
}

impl ReleaseState {
    /// The provenance of `stage`'s output: its partition `ds`, or the full table.
    pub fn get(&self, stage: &str, partition: Option<&str>) -> Option<&Provenance> {
        match partition {
            Some(ds) => self.partitions.get(stage)?.get(ds),
            None => self.tables.get(stage),
        }
    }

    /// Record a built output (replacing what was there).
    pub fn put(&mut self, partitioned: bool, prov: Provenance) {
        if partitioned {
            self.partitions
                .entry(prov.stage.clone())
                .or_default()
                .insert(prov.ds.clone(), prov);
        } else {
            self.tables.insert(prov.stage.clone(), prov);
        }
    }

    /// Drop landings no output refers to any more.
    pub fn prune_landings(&mut self) {
        let used: BTreeSet<&String> = self
            .tables
            .values()
            .chain(self.partitions.values().flat_map(|m| m.values()))
            .flat_map(|p| p.inputs.iter())
            .flat_map(|i| match i {
                InputFingerprint::Source { partitions, .. } => partitions.values().collect(),
                InputFingerprint::Table { .. } => Vec::new(),
            })
            .collect();
        let keep: BTreeSet<String> = used.into_iter().cloned().collect();
        self.landings.retain(|k, _| keep.contains(k));
    }

    /// Read the state of release `run_id` (empty when it has none: a release made before state
    /// was kept).
    pub async fn load(wh: &Warehouse, run_id: &str) -> Result<ReleaseState> {
        let path = wh.path(&format!("{}/{STATE}", release_dir(run_id)));
        let Some(bytes) = wh.get(&path).await? else {
            return Ok(ReleaseState::default());
        };
        serde_json::from_slice(&bytes).map_err(|source| StrataError::Record {
            path: path.to_string(),
            source,
        })
    }

    /// Read the state of the current release (empty when nothing is published).
    pub async fn current(wh: &Warehouse) -> Result<ReleaseState> {
        match wh.current_release().await? {
            Some(p) => Self::load(wh, &p.run_id).await,
            None => Ok(ReleaseState::default()),
        }
    }

    /// Write this state into the (pending) release tree of `run_id`.
    pub async fn save(&self, wh: &Warehouse, run_id: &str) -> Result<()> {
        let path = wh.path(&format!("{}/{STATE}", release_dir(run_id)));
        let body = serde_json::to_vec(self).map_err(|source| StrataError::Record {
            path: path.to_string(),
            source,
        })?;
        wh.put(&path, body).await
    }
}
