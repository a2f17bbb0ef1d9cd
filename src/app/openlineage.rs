//! OpenLineage run events (<https://openlineage.io/spec/2-0-2/OpenLineage.json>) for every run.
//!
//! The pipeline run is a parent job (`<pipeline>`); each executed stage is a job
//! (`<pipeline>.<stage>`) with a START event when it begins and COMPLETE or FAIL when it ends
//! (ABORT when it started and was then skipped). Inputs and the output are datasets named as the
//! OpenLineage naming spec says for files: namespace `file` and the absolute path, or
//! `s3://bucket` and the key prefix. Facets: `schema` on every dataset; on the output
//! `columnLineage` (from [`super::lineage`]: DIRECT/IDENTITY for copies, DIRECT/TRANSFORMATION,
//! DIRECT/AGGREGATION) and `outputStatistics` (rows, bytes, files); on the job `sql` and
//! `jobType`; on the run `parent`, `nominalTime` (the start of the run date in the pipeline's
//! time zone) and `errorMessage` on failure. A stage's checks are a job of their own,
//! `<pipeline>.<stage>.checks` (type TEST), whose input, the checked output, carries the
//! `dataQualityAssertions` facet: the spec defines that facet for input datasets.
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

/// Events on their way to the writer: path under the warehouse root, JSON body.
type Queue = tokio::sync::mpsc::UnboundedSender<(String, Vec<u8>)>;

const SPEC: &str = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
const FACETS: &str = "https://openlineage.io/spec/facets/";

/// Emits the events of one run; also a [`RunObserver`] forwarding to the observer it wraps.
pub struct Emitter<'a> {
    inner: &'a dyn RunObserver,
    namespace: String,
    pipeline: String,
    run_id: String,
    jobs: BTreeMap<String, Job>,
    seq: AtomicUsize,
    started: Mutex<Vec<String>>,
    /// Events for the one task that writes and sends them, in the order they happened.
    queue: Mutex<Option<Queue>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The run date's first instant in the pipeline's time zone, RFC 3339 in UTC.
    day_start: String,
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

/// OpenLineage's dataset naming for a directory or file URL: (`file`, the plain path) for local
/// files, (`s3://bucket`, the key prefix, percent-decoded as the store names it) otherwise; other
/// schemes keep scheme and authority as the namespace.
fn dataset_name(url: &str) -> (String, String) {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "file" => {
            let path = u
                .to_file_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| u.path().to_string());
            ("file".into(), path.trim_end_matches('/').into())
        }
        Ok(u) => (
            format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()),
            object_store::path::Path::from_url_path(u.path())
                .map(|p| p.to_string())
                .unwrap_or_else(|_| u.path().trim_matches('/').to_string()),
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
                .map(|f| {
                    let t = crate::model::types::column_type_name(f.data_type());
                    json!({"name": f.name(), "type": t})
                })
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
        let pipeline = &project.pipeline;
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
            // What the query reads: tables only its checks read are no inputs of the job.
            let inputs: Vec<Value> = lineage
                .tables
                .get(&stage.name)
                .map(|t| t.reads.iter().map(String::as_str).collect::<Vec<_>>())
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
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let worker = tokio::spawn(deliver(wh.clone(), http, rx));
        let day_start = chrono::NaiveDate::parse_from_str(ds, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| t.and_local_timezone(pipeline.timezone).earliest())
            .map(|t| {
                t.with_timezone(&chrono::Utc)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            })
            .unwrap_or_else(|| format!("{ds}T00:00:00Z"));
        Emitter {
            inner,
            namespace: std::env::var("OPENLINEAGE_NAMESPACE").unwrap_or_else(|_| "strata".into()),
            pipeline: pipeline.name.clone(),
            run_id: run_id.to_string(),
            jobs,
            seq: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
            queue: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            day_start,
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
                json!({"nominalStartTime": self.day_start}),
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
                json!({"message": message, "programmingLanguage": if parent { "SQL" } else { "strata" }}),
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

    /// Queue `event` to be written to the warehouse and POSTed, after the events before it.
    fn send(&self, job: &str, event: Value) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let kind = event["eventType"].as_str().unwrap_or("OTHER").to_string();
        let body = serde_json::to_vec(&event).unwrap_or_default();
        let path = format!("{EVENTS_DIR}/{}/{seq:04}-{job}-{kind}.json", self.run_id);
        if let Ok(q) = self.queue.lock()
            && let Some(tx) = q.as_ref()
        {
            let _ = tx.send((path, body));
        }
    }

    /// The parent job's final event (COMPLETE, or FAIL with `error`); then wait until every
    /// event is written and sent.
    pub async fn finish(&self, error: Option<&str>) {
        let kind = if error.is_some() { "FAIL" } else { "COMPLETE" };
        let run = self.run_facets(false, error);
        self.send(&self.pipeline, self.event(kind, &self.pipeline, None, run));
        if let Ok(mut q) = self.queue.lock() {
            q.take();
        }
        let worker = self.worker.lock().ok().and_then(|mut w| w.take());
        if let Some(w) = worker {
            let _ = w.await;
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
        if let Some(
            StageStatus::Succeeded { output: o }
            | StageStatus::Blocked { output: o, .. }
            | StageStatus::Scratch { output: o },
        ) = result.map(|r| &r.status)
        {
            output["outputFacets"] = json!({"outputStatistics": facet(
                "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
                json!({"rowCount": o.rows, "size": o.bytes, "fileCount": o.files}),
            )});
        }
        // A stage that failed or was blocked published nothing: no output dataset version.
        if kind != "FAIL" && kind != "ABORT" {
            e["outputs"] = json!([output]);
        }
        e
    }

    /// The checks of a stage as a job of their own, `<pipeline>.<stage>.checks` (job type
    /// TEST, as dbt's tests are): its input is the checked output with the
    /// `dataQualityAssertions` facet, which the spec defines for inputs. FAIL when a check that
    /// blocks publication failed.
    fn send_checks(&self, r: &StageResult) {
        let Some(job) = self.jobs.get(&r.stage) else {
            return;
        };
        let assertions: Vec<Value> = r
            .checks
            .iter()
            .map(|c| {
                json!({"assertion": c.check, "success": c.status == CheckStatus::Pass,
                       "severity": format!("{:?}", c.severity).to_lowercase()})
            })
            .collect();
        let name = format!("{}.checks", r.stage);
        let failed = r.checks.iter().any(|c| c.blocks());
        for kind in ["START", if failed { "FAIL" } else { "COMPLETE" }] {
            let error = (kind == "FAIL").then_some("a check that blocks publication failed");
            let mut e = self.event(kind, &name, Some(&name), self.run_facets(true, error));
            e["job"]["facets"]["jobType"]["jobType"] = json!("TEST");
            // The results belong to the end of the checks' run, not to its start.
            let mut input = job.output.clone();
            if kind != "START" {
                input["inputFacets"] = json!({"dataQualityAssertions": facet(
                    "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet",
                    json!({ "assertions": assertions }),
                )});
            }
            e["inputs"] = json!([input]);
            self.send(&name, e);
        }
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
            // The checks ran on the staged output before it was published or not: their job
            // comes before the stage's end.
            if !result.checks.is_empty() {
                self.send_checks(result);
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

/// Write each queued event to the warehouse and POST it, in order; failures are counted and
/// reported in one warning each for the files and the endpoint when the run ends.
async fn deliver(
    wh: Warehouse,
    http: Option<(reqwest::Client, String, Option<String>)>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    let (mut events, mut unwritten, mut unsent) = (0usize, 0usize, 0usize);
    let (mut write_error, mut send_error) = (None, None);
    while let Some((path, body)) = rx.recv().await {
        events += 1;
        if let Err(e) = wh.put(&wh.path(&path), body.clone()).await {
            unwritten += 1;
            write_error.get_or_insert_with(|| crate::report::error_chain_text(&e));
        }
        let Some((client, url, key)) = &http else {
            continue;
        };
        let mut req = client
            .post(url)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let failed = match req.send().await {
            Ok(r) if r.status().is_success() => None,
            Ok(r) => Some(format!("the endpoint answered {}", r.status())),
            Err(e) => Some(crate::error::chain_text(&e)),
        };
        if let Some(f) = failed {
            unsent += 1;
            send_error.get_or_insert(f);
        }
    }
    if let Some(e) = write_error {
        tracing::warn!(
            "could not write {unwritten} of {events} OpenLineage events under {EVENTS_DIR}: {e}"
        );
    }
    if let (Some(e), Some((_, url, _))) = (send_error, &http) {
        tracing::warn!("could not send {unsent} of {events} OpenLineage events to {url}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::dataset_name;

    /// OpenLineage names datasets by plain paths (`file` namespace) and object keys: the
    /// percent-encoding of the URL strata hands the engine is taken off.
    #[test]
    fn dataset_names_are_plain_paths() {
        assert_eq!(
            dataset_name("file:///tmp/%E5%AE%A2%E6%88%B7%20x/a%2520b/ods/"),
            ("file".to_string(), "/tmp/客户 x/a%20b/ods".to_string())
        );
        assert_eq!(
            dataset_name("s3://bucket/my%20prefix/%E6%95%B0/dwd/t/"),
            ("s3://bucket".to_string(), "my prefix/数/dwd/t".to_string())
        );
    }
}
