//! OpenLineage run events (<https://openlineage.io/spec/2-0-2/OpenLineage.json>) for every run.
//!
//! The pipeline run is a parent job (`<pipeline>`); each executed stage is a job
//! (`<pipeline>.<stage>`) with a START event when it begins and COMPLETE or FAIL when it ends
//! (ABORT when it started and was then skipped). Inputs and the output are datasets named as the
//! OpenLineage naming spec says for files: namespace `file` and the absolute path, or
//! `s3://bucket` and the key prefix. Facets: `schema` on every dataset; on the output
//! `columnLineage` (from [`super::lineage`]: DIRECT/IDENTITY for copies, DIRECT/TRANSFORMATION,
//! DIRECT/AGGREGATION), `dataQualityAssertions` from the stage's checks and `outputStatistics`
//! (rows, bytes, files); on the job `sql` and `jobType`; on the run `parent`, `nominalTime`
//! (the run date, midnight UTC) and `errorMessage` on failure.
//!
//! Each event is written to `_meta/openlineage/<run_id>/<seq>-<job>-<type>.json` in the
//! warehouse and, when `OPENLINEAGE_URL` is set, POSTed to `$OPENLINEAGE_URL/api/v1/lineage`
//! (`OPENLINEAGE_ENDPOINT` overrides the path, `OPENLINEAGE_API_KEY` is sent as a bearer token;
//! the job namespace is `OPENLINEAGE_NAMESPACE`, default `strata`), as Marquez, DataHub and
//! OpenMetadata ingest them. Emission never fails a run: a failed write or POST is logged as a
//! warning. Run ids are UUIDv5 of the strata run id and the job, so START and COMPLETE agree.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::lineage::LineageGraph;
use super::run::{RunObserver, StageResult, StageStatus};
use crate::checks::CheckStatus;
use crate::engine::validate::Schemas;
use crate::storage::Warehouse;

/// Where the events of a run are written, under the warehouse root.
pub const EVENTS_DIR: &str = "_meta/openlineage";

const SPEC: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const FACETS: &str = "https://openlineage.io/spec/facets/";

/// Emits the events of one run; also a [`RunObserver`] forwarding to the observer it wraps.
pub struct Emitter<'a> {
    inner: &'a dyn RunObserver,
    wh: Warehouse,
    http: Option<(reqwest::Client, String, Option<String>)>,
    namespace: String,
    pipeline: String,
    run_id: String,
    ds: String,
    jobs: BTreeMap<String, Job>,
    seq: AtomicUsize,
    started: Mutex<Vec<String>>,
    pending: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// What a stage's events say about its job and datasets, computed before the run.
struct Job {
    sql: String,
    inputs: Vec<Value>,
    output: Value,
    lineage: Value,
}

fn facet(name: &str, mut body: Value) -> Value {
    body["_producer"] = json!(producer());
    body["_schemaURL"] = json!(format!("{FACETS}{name}"));
    body
}

fn producer() -> String {
    format!("urn:strata:{}", env!("CARGO_PKG_VERSION"))
}

/// OpenLineage's dataset naming for a directory or file URL: (`file`, path) or (`s3://bucket`,
/// key prefix); other schemes keep scheme and authority as the namespace.
fn dataset_name(url: &str) -> (String, String) {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "file" => ("file".into(), u.path().trim_end_matches('/').into()),
        Ok(u) => (
            format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()),
            u.path().trim_matches('/').into(),
        ),
        Err(_) => ("file".into(), url.trim_end_matches('/').into()),
    }
}

fn schema_facet(schemas: &Schemas, table: &str) -> Value {
    let fields: Vec<Value> = schemas
        .tables
        .get(table)
        .map(|s| {
            s.fields()
                .iter()
                .map(|f| json!({"name": f.name(), "type": f.data_type().to_string()}))
                .collect()
        })
        .unwrap_or_default();
    facet(
        "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
        json!({ "fields": fields }),
    )
}

impl<'a> Emitter<'a> {
    /// Prepare the events of a run of `project` over `schemas`, with column lineage from
    /// `lineage`, writing into `wh`.
    pub fn new(
        inner: &'a dyn RunObserver,
        project: &super::Project,
        wh: &Warehouse,
        schemas: &Schemas,
        lineage: &LineageGraph,
        run_id: &str,
        ds: &str,
    ) -> Self {
        let (pipeline, plan) = (&project.pipeline, &project.plan);
        let location = |table: &str| -> (String, String) {
            if let Some(source) = pipeline.source(table) {
                let url = crate::engine::sources::source_url(pipeline, source)
                    .unwrap_or_else(|_| source.location.clone());
                return dataset_name(&url);
            }
            let layer = pipeline
                .stage(table)
                .map(|s| s.layer.as_str())
                .unwrap_or("");
            dataset_name(&wh.dir_url(&format!("{layer}/{table}")))
        };
        let mut jobs = BTreeMap::new();
        for stage in &pipeline.stages {
            let inputs: Vec<Value> = plan
                .stages
                .iter()
                .find(|p| p.name == stage.name)
                .map(|p| {
                    p.inputs
                        .iter()
                        .map(|i| i.table.as_str())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
                .into_iter()
                .map(|t| {
                    let (ns, name) = location(t);
                    json!({"namespace": ns, "name": name,
                           "facets": {"schema": schema_facet(schemas, t)}})
                })
                .collect();
            let (ns, name) = location(&stage.name);
            let fields: serde_json::Map<String, Value> = lineage
                .tables
                .get(&stage.name)
                .map(|t| t.columns.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    let input_fields: Vec<Value> = c
                        .origins
                        .iter()
                        .map(|o| {
                            let (ns, name) = location(&o.table);
                            let subtype = match o.derivation {
                                crate::engine::lineage::Derivation::Direct => "IDENTITY",
                                crate::engine::lineage::Derivation::Transformation => {
                                    "TRANSFORMATION"
                                }
                                crate::engine::lineage::Derivation::Aggregation => "AGGREGATION",
                            };
                            json!({"namespace": ns, "name": name, "field": o.column,
                                   "transformations": [{"type": "DIRECT", "subtype": subtype}]})
                        })
                        .collect();
                    (c.name.clone(), json!({"inputFields": input_fields}))
                })
                .collect();
            let lineage = facet(
                "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
                json!({ "fields": fields }),
            );
            let output = json!({"namespace": ns, "name": name,
                                "facets": {"schema": schema_facet(schemas, &stage.name)}});
            jobs.insert(
                stage.name.clone(),
                Job {
                    sql: stage.sql.clone(),
                    inputs,
                    output,
                    lineage,
                },
            );
        }
        let http = std::env::var("OPENLINEAGE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(|url| {
                let endpoint = std::env::var("OPENLINEAGE_ENDPOINT")
                    .unwrap_or_else(|_| "api/v1/lineage".into());
                let target = format!(
                    "{}/{}",
                    url.trim_end_matches('/'),
                    endpoint.trim_start_matches('/')
                );
                let client = reqwest::Client::builder()
                    .timeout(std::time::Duration::from_secs(10))
                    .build()
                    .unwrap_or_default();
                (client, target, std::env::var("OPENLINEAGE_API_KEY").ok())
            });
        Emitter {
            inner,
            wh: wh.clone(),
            http,
            namespace: std::env::var("OPENLINEAGE_NAMESPACE").unwrap_or_else(|_| "strata".into()),
            pipeline: pipeline.name.clone(),
            run_id: run_id.to_string(),
            ds: ds.to_string(),
            jobs,
            seq: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
            pending: Mutex::new(Vec::new()),
        }
    }

    fn run_uuid(&self, job: &str) -> String {
        let name = format!("strata:{}:{}:{job}", self.pipeline, self.run_id);
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes()).to_string()
    }

    fn run_facets(&self, parent: bool, error: Option<&str>) -> Value {
        let mut facets = json!({
            "nominalTime": facet(
                "1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
                json!({"nominalStartTime": format!("{}T00:00:00Z", self.ds)}),
            ),
        });
        if parent {
            facets["parent"] = facet(
                "1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
                json!({"run": {"runId": self.run_uuid(&self.pipeline)},
                       "job": {"namespace": self.namespace, "name": self.pipeline}}),
            );
        }
        if let Some(message) = error {
            facets["errorMessage"] = facet(
                "1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
                json!({"message": message, "programmingLanguage": "SQL"}),
            );
        }
        facets
    }

    fn event(&self, kind: &str, job: &str, stage: Option<&str>, run: Value) -> Value {
        let job_name = match stage {
            Some(s) => format!("{}.{s}", self.pipeline),
            None => self.pipeline.clone(),
        };
        let mut job_facets = json!({
            "jobType": facet(
                "2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
                json!({"processingType": "BATCH", "integration": "STRATA",
                       "jobType": if stage.is_some() { "QUERY" } else { "PIPELINE" }}),
            ),
        });
        if let Some(j) = stage.and_then(|s| self.jobs.get(s)) {
            job_facets["sql"] = facet(
                "1-1-0/SQLJobFacet.json#/$defs/SQLJobFacet",
                json!({"query": j.sql}),
            );
        }
        json!({
            "eventType": kind,
            "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "run": {"runId": self.run_uuid(job), "facets": run},
            "job": {"namespace": self.namespace, "name": job_name, "facets": job_facets},
            "inputs": [],
            "outputs": [],
            "producer": producer(),
            "schemaURL": SPEC,
        })
    }

    /// Write `event` to the warehouse and POST it, in the background.
    fn send(&self, job: &str, event: Value) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let kind = event["eventType"].as_str().unwrap_or("OTHER").to_string();
        let body = serde_json::to_vec(&event).unwrap_or_default();
        let path = self.wh.path(&format!(
            "{EVENTS_DIR}/{}/{seq:04}-{job}-{kind}.json",
            self.run_id
        ));
        let wh = self.wh.clone();
        let http = self.http.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = wh.put(&path, body.clone()).await {
                tracing::warn!(error = %e, "could not write an OpenLineage event");
            }
            if let Some((client, url, key)) = http {
                let mut req = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(body);
                if let Some(k) = key {
                    req = req.bearer_auth(k);
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        tracing::warn!(status = %r.status(), %url, "OpenLineage endpoint refused an event")
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, %url, "could not send an OpenLineage event")
                    }
                }
            }
        });
        if let Ok(mut p) = self.pending.lock() {
            p.push(task);
        }
    }

    /// The parent job's final event (COMPLETE, or FAIL with `error`); then wait until every
    /// event is written and sent.
    pub async fn finish(&self, error: Option<&str>) {
        let kind = if error.is_some() { "FAIL" } else { "COMPLETE" };
        let run = self.run_facets(false, error);
        self.send(&self.pipeline, self.event(kind, &self.pipeline, None, run));
        let tasks: Vec<_> = match self.pending.lock() {
            Ok(mut p) => p.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for t in tasks {
            let _ = t.await;
        }
    }

    fn stage_event(&self, kind: &str, stage: &str, result: Option<&StageResult>) -> Value {
        let error = result.and_then(|r| match &r.status {
            StageStatus::Failed { error } => Some(error.clone()),
            StageStatus::Blocked { failed_checks, .. } => Some(format!(
                "not published: failed checks {}",
                failed_checks.join(", ")
            )),
            StageStatus::Skipped { because } => Some(because.clone()),
            _ => None,
        });
        let run = self.run_facets(true, error.as_deref().filter(|_| kind == "FAIL"));
        let mut e = self.event(kind, stage, Some(stage), run);
        let Some(job) = self.jobs.get(stage) else {
            return e;
        };
        e["inputs"] = json!(job.inputs);
        let mut output = job.output.clone();
        output["facets"]["columnLineage"] = job.lineage.clone();
        if let Some(r) = result {
            if !r.checks.is_empty() {
                let assertions: Vec<Value> = r
                    .checks
                    .iter()
                    .map(|c| {
                        json!({"assertion": c.check, "success": c.status == CheckStatus::Pass,
                               "severity": format!("{:?}", c.severity).to_lowercase(),
                               "actual": c.failing.to_string()})
                    })
                    .collect();
                output["facets"]["dataQualityAssertions"] = facet(
                    "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
                    json!({ "assertions": assertions }),
                );
            }
            if let StageStatus::Succeeded { output: o }
            | StageStatus::Blocked { output: o, .. }
            | StageStatus::Scratch { output: o } = &r.status
            {
                output["outputFacets"] = json!({"outputStatistics": facet(
                    "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
                    json!({"rowCount": o.rows, "size": o.bytes, "fileCount": o.files}),
                )});
            }
        }
        e["outputs"] = json!([output]);
        e
    }
}

impl RunObserver for Emitter<'_> {
    fn run_started(&self, run_id: &str, stages: usize) {
        let run = self.run_facets(false, None);
        self.send(
            &self.pipeline,
            self.event("START", &self.pipeline, None, run),
        );
        self.inner.run_started(run_id, stages);
    }

    fn stage_started(&self, stage: &str) {
        if let Ok(mut s) = self.started.lock() {
            s.push(stage.to_string());
        }
        self.send(stage, self.stage_event("START", stage, None));
        self.inner.stage_started(stage);
    }

    fn stage_finished(&self, result: &StageResult) {
        let started = self
            .started
            .lock()
            .map(|s| s.contains(&result.stage))
            .unwrap_or(false);
        let kind = match &result.status {
            StageStatus::Succeeded { .. } | StageStatus::Scratch { .. } => Some("COMPLETE"),
            StageStatus::Blocked { .. } | StageStatus::Failed { .. } => Some("FAIL"),
            StageStatus::Skipped { .. } | StageStatus::Unchanged { .. } => {
                started.then_some("ABORT")
            }
        };
        if let Some(kind) = kind {
            if !started {
                self.send(
                    &result.stage,
                    self.stage_event("START", &result.stage, None),
                );
            }
            self.send(
                &result.stage,
                self.stage_event(kind, &result.stage, Some(result)),
            );
        }
        self.inner.stage_finished(result);
    }
}

/// Why a run counts as failed for its parent job's event: its error, or the stages that failed,
/// were blocked by checks or were skipped; `None` when every stage succeeded.
pub fn run_failure(
    result: &crate::error::Result<()>,
    outcome: &super::run::RunOutcome,
) -> Option<String> {
    match result {
        Err(e) => Some(crate::report::error_chain_text(e)),
        Ok(()) if outcome.failed() + outcome.blocked() + outcome.skipped() > 0 => Some(format!(
            "{} failed, {} blocked by checks, {} skipped",
            outcome.failed(),
            outcome.blocked(),
            outcome.skipped()
        )),
        Ok(()) => None,
    }
}
