//! Fingerprints: the provenance an output would have if it were built now.
//!
//! A stage's code fingerprint covers its SQL, its pipeline entry (layer, materialization,
//! dependencies, contract, checks, summary), the values of the variables its SQL reads and
//! strata's version. Its input fingerprints cover, for each source it reads, every landed file
//! a run for `ds` reads (all landings up to `ds`, each `ds=` partition digested on its own),
//! and for each stage it reads, that stage's provenance id (of the same `ds` partition when the
//! input is partitioned: a stage reads the partition of its own date).
//!
//! [`expected`] computes these for every stage of a plan at one date, in plan order, so ids
//! chain like a Merkle tree: an upstream change changes every downstream id.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::app::Project;
use crate::app::records::sha256_hex;
use crate::engine::landing::LandedFile;
use crate::engine::sources::{self, ResolvedSources};
use crate::error::Result;
use crate::model::types::VarValue;
use crate::model::{Materialization, Pipeline, Stage};
use crate::storage::state::{
    CodeFingerprint, FileFingerprint, InputFingerprint, Landing, Provenance,
};

/// strata's version, part of every code fingerprint.
pub const STRATA_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Clone)]
struct LandedEntry {
    file: FileFingerprint,
    ds: Option<NaiveDate>,
}

/// The landed files of the sources, as listed once.
#[derive(Debug, Clone, Default)]
pub struct LandedSet {
    by_source: BTreeMap<String, Vec<LandedEntry>>,
}

fn entry(f: &LandedFile) -> LandedEntry {
    LandedEntry {
        file: FileFingerprint {
            path: f.display.clone(),
            size: f.size,
            modified: f.last_modified.to_rfc3339(),
        },
        ds: f.ds,
    }
}

impl LandedSet {
    /// The files a run resolved (landed on or before its date).
    pub fn from_resolved(resolved: &ResolvedSources) -> Self {
        let by_source = resolved
            .by_name
            .iter()
            .map(|(name, r)| (name.clone(), r.landed().into_iter().map(entry).collect()))
            .collect();
        Self { by_source }
    }

    /// List every landed file of `names` (no cut-off), without reading any footer.
    pub async fn list(pipeline: &Pipeline, names: &[&str]) -> Result<Self> {
        let mut by_source = BTreeMap::new();
        for name in names {
            let Some(source) = pipeline.source(name) else {
                continue;
            };
            let url = sources::source_url(pipeline, source)?;
            let listing = crate::engine::landing::list(pipeline, source, &url, None).await?;
            by_source.insert(
                source.name.clone(),
                listing.files.iter().map(entry).collect(),
            );
        }
        Ok(Self { by_source })
    }

    /// The fingerprint of `source` as a run for `ds` reads it, with the landings it names.
    fn source_input(
        &self,
        source: &str,
        ds: NaiveDate,
    ) -> (InputFingerprint, Vec<(String, Landing)>) {
        let mut parts: BTreeMap<String, Vec<FileFingerprint>> = BTreeMap::new();
        for e in self.by_source.get(source).into_iter().flatten() {
            if e.ds.is_some_and(|d| d > ds) {
                continue;
            }
            let key = e.ds.map(|d| format!("ds={d}")).unwrap_or_default();
            parts.entry(key).or_default().push(e.file.clone());
        }
        let mut partitions = BTreeMap::new();
        let mut landings = Vec::new();
        let (mut files, mut bytes) = (0u64, 0u64);
        for (key, mut list) in parts {
            list.sort_by(|a, b| a.path.cmp(&b.path));
            files += list.len() as u64;
            bytes += list.iter().map(|f| f.size).sum::<u64>();
            let digest = digest(&serde_json::json!([source, key, list]));
            partitions.insert(key.clone(), digest.clone());
            landings.push((
                digest,
                Landing {
                    source: source.to_string(),
                    partition: key,
                    files: list,
                },
            ));
        }
        let all = digest(&serde_json::json!(partitions));
        (
            InputFingerprint::Source {
                source: source.to_string(),
                digest: all,
                files,
                bytes,
                partitions,
            },
            landings,
        )
    }
}

/// SHA-256 of a JSON value's canonical text (object keys are sorted by `serde_json`'s map).
fn digest(value: &serde_json::Value) -> String {
    sha256_hex(value.to_string().as_bytes())
}

/// The variables `sql` reads (`$name`), with their values; `$ds` is the date, not a variable.
fn vars_read(sql: &str, vars: &[(String, VarValue)]) -> BTreeMap<String, String> {
    let mut names = BTreeSet::new();
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        names.insert(&rest[..end]);
    }
    vars.iter()
        .filter(|(n, _)| names.contains(n.as_str()))
        .map(|(n, v)| (n.clone(), v.to_string()))
        .collect()
}

/// Digests of the pipeline settings behind `stage`'s output: those of the functions its SQL
/// calls, and the output format. A setting no function of the stage reads does not count, so
/// changing the intent dictionary rebuilds only what classifies intents.
fn settings_read(pipeline: &Pipeline, stage: &Stage) -> BTreeMap<String, String> {
    let calls = |f: &str| {
        let sql = stage.sql.to_ascii_lowercase();
        sql.contains(&format!("{f}("))
    };
    let mut out = BTreeMap::new();
    let mut put = |name: &str, value: serde_json::Value| {
        out.insert(name.to_string(), digest(&value));
    };
    if calls("business_date") {
        put("timezone", serde_json::json!(pipeline.timezone.name()));
    }
    if calls("intent") {
        put(
            "intents",
            serde_json::json!([pipeline.intents.labels, pipeline.intents.default_label]),
        );
    }
    if calls("resolve_identity") {
        let id = &pipeline.identity;
        put(
            "identity",
            serde_json::json!([
                id.max_records_per_key,
                id.placeholder_phones,
                id.placeholder_emails,
                id.placeholder_names
            ]),
        );
    }
    if calls("pii_hash") {
        put("pii", serde_json::json!(pipeline.pii.hash_key_env));
    }
    put(
        "parquet_compression",
        serde_json::json!(pipeline.engine.compression),
    );
    out
}

/// The code fingerprint of `stage` of `pipeline` under `vars`.
pub fn code(pipeline: &Pipeline, stage: &Stage, vars: &[(String, VarValue)]) -> CodeFingerprint {
    let entry = serde_json::json!({
        "name": stage.name,
        "layer": stage.layer.as_str(),
        "materialization": format!("{:?}", stage.materialization),
        "depends_on": stage.depends_on.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        "columns": format!("{:?}", stage.columns),
        "checks": stage.checks.iter().map(|c| format!("{} {:?} {:?} {:?}", c.name, c.kind, c.severity, c.threshold)).collect::<Vec<_>>(),
        "summary": stage.summary,
        "model": stage.model.as_ref().map(|m| format!("{:?} {:?} {}", m.algorithm, m.id, m.time)),
    });
    let sql_sha256 = sha256_hex(stage.sql.as_bytes());
    let entry_sha256 = digest(&entry);
    let vars = vars_read(&stage.sql, vars);
    let settings = settings_read(pipeline, stage);
    let digest = digest(&serde_json::json!([
        sql_sha256,
        entry_sha256,
        vars,
        settings,
        STRATA_VERSION
    ]));
    CodeFingerprint {
        digest,
        sql_sha256,
        entry_sha256,
        vars,
        settings,
        strata_version: STRATA_VERSION.to_string(),
    }
}

/// What every stage of a plan would be built from at one date.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub by_stage: BTreeMap<String, Provenance>,
    /// The files behind every source partition digest named above.
    pub landings: BTreeMap<String, Landing>,
}

/// The expected provenance of every stage of `project` at `ds`, in plan order. A stage named in
/// `fixed` is read as published, with the given id, instead of being computed.
pub fn expected(
    project: &Project,
    landed: &LandedSet,
    vars: &[(String, VarValue)],
    ds: NaiveDate,
    fixed: &BTreeMap<String, Option<String>>,
) -> Expected {
    let mut out = Expected::default();
    let mut ids: BTreeMap<String, Option<String>> = fixed.clone();
    let day = ds.to_string();
    for planned in &project.plan.stages {
        if fixed.contains_key(&planned.name) {
            continue;
        }
        let stage = &project.pipeline.stages[planned.index];
        let code = code(&project.pipeline, stage, vars);
        let mut inputs = Vec::new();
        for input in &planned.inputs {
            if input.is_source {
                let (fp, landings) = landed.source_input(&input.table, ds);
                out.landings.extend(landings);
                inputs.push(fp);
            } else {
                let partitioned = project
                    .pipeline
                    .stage(&input.table)
                    .is_some_and(|s| s.materialization == Materialization::Partitioned);
                inputs.push(InputFingerprint::Table {
                    table: input.table.clone(),
                    partition: partitioned.then(|| day.clone()),
                    id: ids.get(&input.table).cloned().flatten(),
                });
            }
        }
        let id = digest(&serde_json::json!([code.digest, day, inputs]));
        ids.insert(planned.name.clone(), Some(id.clone()));
        out.by_stage.insert(
            planned.name.clone(),
            Provenance {
                id,
                stage: planned.name.clone(),
                ds: day.clone(),
                code,
                inputs,
                run_id: String::new(),
                built_at: String::new(),
            },
        );
    }
    out
}

/// Why a published output differs from what it would be built from now (empty: it does not).
pub fn why_stale(published: &Provenance, expected: &Provenance) -> Vec<String> {
    if published.id == expected.id {
        return Vec::new();
    }
    let mut why = Vec::new();
    let (p, e) = (&published.code, &expected.code);
    if p.digest != e.digest {
        let mut what = Vec::new();
        if p.sql_sha256 != e.sql_sha256 {
            what.push("SQL".to_string());
        }
        if p.entry_sha256 != e.entry_sha256 {
            what.push("pipeline entry".to_string());
        }
        for (k, v) in &e.vars {
            if p.vars.get(k) != Some(v) {
                what.push(format!("${k}"));
            }
        }
        for (k, v) in &e.settings {
            if p.settings.get(k) != Some(v) {
                what.push(format!("setting `{k}`"));
            }
        }
        if p.strata_version != e.strata_version {
            what.push(format!(
                "strata {} -> {}",
                p.strata_version, e.strata_version
            ));
        }
        why.push(format!("code changed: {}", what.join(", ")));
    }
    if published.ds != expected.ds {
        why.push(format!("built as of {}", published.ds));
    }
    for input in &expected.inputs {
        match input {
            InputFingerprint::Source {
                source,
                digest,
                partitions,
                ..
            } => {
                let before = published.inputs.iter().find_map(|i| match i {
                    InputFingerprint::Source {
                        source: s,
                        digest: d,
                        partitions: ps,
                        ..
                    } if s == source => Some((d, ps)),
                    _ => None,
                });
                match before {
                    Some((d, _)) if d == digest => {}
                    Some((_, ps)) => {
                        let mut changed: Vec<String> = partitions
                            .iter()
                            .filter(|(k, v)| ps.get(*k) != Some(*v))
                            .map(|(k, _)| {
                                if k.is_empty() {
                                    "file".into()
                                } else {
                                    k.clone()
                                }
                            })
                            .chain(
                                ps.keys()
                                    .filter(|k| !partitions.contains_key(*k))
                                    .map(|k| format!("{k} removed")),
                            )
                            .collect();
                        let more = changed.len().saturating_sub(3);
                        changed.truncate(3);
                        let more = if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        };
                        why.push(format!(
                            "input changed: {source} ({}{more})",
                            changed.join(", ")
                        ));
                    }
                    None => why.push(format!("input changed: {source} (new input)")),
                }
            }
            InputFingerprint::Table { table, id, .. } => {
                let before = published.inputs.iter().find_map(|i| match i {
                    InputFingerprint::Table { table: t, id, .. } if t == table => Some(id),
                    _ => None,
                });
                if before != Some(id) {
                    why.push(format!("upstream stale: {table}"));
                }
            }
        }
    }
    if why.is_empty() {
        why.push("inputs changed".into());
    }
    why
}
