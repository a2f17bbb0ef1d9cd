//! Run records: `_meta/runs/<run_id>.json` for every run, and check results appended to the
//! Parquet table `_meta/check_results/` (one file per run) so BI can chart data quality.
//! Neither holds personal data: check samples are masked, and vars are the pipeline's own.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Date32Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::parquet::arrow::ArrowWriter;
use sha2::{Digest, Sha256};

use crate::app::run::{RunOutcome, StageStatus};
use crate::checks::CheckResult;
use crate::error::{Result, StrataError};
use crate::model::Pipeline;
use crate::storage::Warehouse;

pub const RUNS: &str = "_meta/runs";
pub const CHECK_RESULTS: &str = "_meta/check_results";

/// Files and bytes of one input as the stage read it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct InputStat {
    pub table: String,
    pub files: u64,
    pub bytes: u64,
}

/// What `_meta/runs/<run_id>.json` holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub pipeline: String,
    pub ds: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    pub vars: BTreeMap<String, String>,
    pub pipeline_sha256: String,
    pub sql_sha256: BTreeMap<String, String>,
    pub release: Option<String>,
    /// Findings about landed files that changed how they were read (or skipped them): file,
    /// column, what, what was done. See `engine::sources::SourceAnomaly`.
    #[serde(default)]
    pub source_anomalies: Vec<serde_json::Value>,
    /// Results of the checks declared on sources, run before any stage.
    #[serde(default)]
    pub source_checks: Vec<serde_json::Value>,
    pub stages: Vec<serde_json::Value>,
    /// Peak resident memory of the process over the run, bytes (`VmHWM`; absent where the
    /// platform cannot tell). Each stage's output has its own `cpu_seconds` and sampled
    /// `peak_rss_bytes`.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Build the record of a finished (or stopped) run.
pub fn record(
    pipeline: &Pipeline,
    outcome: &RunOutcome,
    vars: &[(String, crate::model::types::VarValue)],
    status: &str,
    started_at: chrono::DateTime<chrono::Utc>,
) -> RunRecord {
    let pipeline_text = std::fs::read(&pipeline.file).unwrap_or_default();
    RunRecord {
        run_id: outcome.run_id.clone(),
        pipeline: pipeline.name.clone(),
        ds: outcome.ds.clone(),
        status: status.to_string(),
        started_at: started_at.to_rfc3339(),
        finished_at: chrono::Utc::now().to_rfc3339(),
        seconds: outcome.elapsed.as_secs_f64(),
        vars: vars
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        pipeline_sha256: sha256_hex(&pipeline_text),
        sql_sha256: pipeline
            .stages
            .iter()
            .map(|s| (s.name.clone(), sha256_hex(s.sql.as_bytes())))
            .collect(),
        release: outcome.release.as_ref().map(|r| r.run_id.clone()),
        source_anomalies: outcome
            .source_anomalies
            .iter()
            .map(|a| serde_json::to_value(a).unwrap_or_default())
            .collect(),
        source_checks: outcome
            .source_checks
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or_default())
            .collect(),
        stages: outcome
            .stages
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or_default())
            .collect(),
        peak_rss_bytes: crate::engine::usage::process_peak_rss(),
    }
}

/// Write the run record and the run's check results.
pub async fn write(wh: &Warehouse, rec: &RunRecord, outcome: &RunOutcome) -> Result<()> {
    let path = wh.path(&format!("{RUNS}/{}.json", rec.run_id));
    let body = serde_json::to_vec_pretty(rec).map_err(|source| StrataError::Record {
        path: path.to_string(),
        source,
    })?;
    wh.put(&path, body).await?;
    let results: Vec<&CheckResult> = outcome
        .source_checks
        .iter()
        .chain(outcome.stages.iter().flat_map(|s| s.checks.iter()))
        .collect();
    if !results.is_empty() {
        let bytes = check_results_parquet(&rec.run_id, &rec.ds, &results)?;
        wh.put(
            &wh.path(&format!("{CHECK_RESULTS}/{}.parquet", rec.run_id)),
            bytes,
        )
        .await?;
    }
    Ok(())
}

fn check_results_parquet(run_id: &str, ds: &str, results: &[&CheckResult]) -> Result<Vec<u8>> {
    let n = results.len();
    let strings = |f: &dyn Fn(&CheckResult) -> String| -> ArrayRef {
        Arc::new(StringArray::from(
            results.iter().map(|r| f(r)).collect::<Vec<_>>(),
        ))
    };
    let day = crate::model::types::parse_date(ds).ok().map(|d| {
        (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid")).num_days() as i32
    });
    let now = chrono::Utc::now().timestamp_micros();
    let schema = Arc::new(Schema::new(vec![
        Field::new("run_id", DataType::Utf8, false),
        Field::new("ds", DataType::Date32, true),
        Field::new("stage", DataType::Utf8, false),
        Field::new("check_name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("failing_rows", DataType::UInt64, false),
        Field::new("total_rows", DataType::UInt64, false),
        Field::new("samples", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, true),
        Field::new(
            "recorded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]));
    let columns: Vec<ArrayRef> = vec![
        strings(&|_| run_id.to_string()),
        Arc::new(Date32Array::from(vec![day; n])),
        strings(&|r| r.stage.clone()),
        strings(&|r| r.check.clone()),
        strings(&|r| r.kind.to_string()),
        strings(&|r| format!("{:?}", r.severity).to_lowercase()),
        strings(&|r| format!("{:?}", r.status).to_lowercase()),
        Arc::new(UInt64Array::from(
            results.iter().map(|r| r.failing).collect::<Vec<_>>(),
        )),
        Arc::new(UInt64Array::from(
            results.iter().map(|r| r.total).collect::<Vec<_>>(),
        )),
        strings(&|r| r.samples.join("; ")),
        Arc::new(StringArray::from(
            results
                .iter()
                .map(|r| r.message.clone())
                .collect::<Vec<_>>(),
        )),
        Arc::new(TimestampMicrosecondArray::from(vec![now; n]).with_timezone("UTC")),
    ];
    let err = |e: datafusion::arrow::error::ArrowError| StrataError::Engine { source: e.into() };
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(err)?;
    let mut buf = Vec::new();
    let perr =
        |e: datafusion::parquet::errors::ParquetError| StrataError::Engine { source: e.into() };
    let mut w = ArrowWriter::try_new(&mut buf, schema, None).map_err(perr)?;
    w.write(&batch).map_err(perr)?;
    w.close().map_err(perr)?;
    Ok(buf)
}

/// Recorded runs, newest first.
pub async fn list(wh: &Warehouse, limit: usize) -> Result<Vec<RunRecord>> {
    let mut metas = wh.list(&wh.path(RUNS)).await?;
    metas.sort_by(|a, b| b.location.cmp(&a.location));
    let mut out = Vec::new();
    for m in metas.into_iter().take(limit) {
        if let Some(bytes) = wh.get(&m.location).await?
            && let Ok(rec) = serde_json::from_slice::<RunRecord>(&bytes)
        {
            out.push(rec);
        }
    }
    Ok(out)
}

/// One run's record (the newest when `run_id` is `None`).
pub async fn get(wh: &Warehouse, run_id: Option<&str>) -> Result<RunRecord> {
    match run_id {
        None => list(wh, 1)
            .await?
            .into_iter()
            .next()
            .ok_or(StrataError::UnknownRun {
                run_id: "(latest)".into(),
            }),
        Some(id) => {
            let path = wh.path(&format!("{RUNS}/{id}.json"));
            let bytes = wh
                .get(&path)
                .await?
                .ok_or_else(|| StrataError::UnknownRun {
                    run_id: id.to_string(),
                })?;
            serde_json::from_slice(&bytes).map_err(|source| StrataError::Record {
                path: path.to_string(),
                source,
            })
        }
    }
}

/// The status word of an outcome.
pub fn status_of(outcome: &RunOutcome) -> &'static str {
    if outcome
        .stages
        .iter()
        .any(|s| matches!(s.status, StageStatus::Failed { .. }))
    {
        "failed"
    } else if outcome.blocked() > 0 || outcome.skipped() > 0 {
        "checks_failed"
    } else {
        "succeeded"
    }
}
