//! Where model stages keep what they learned: `_meta/models/<stage>/<run_id>/metrics.json` (every
//! run, adopted or not) and `model.json` (the fitted model). A model that fails its gate is not
//! adopted; the stage then scores with the newest earlier adopted model, if there is one. No
//! personal data is stored: metrics, parameters, feature names and split thresholds.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::storage::Warehouse;

/// The directory of a stage's models.
fn stage_dir(stage: &str) -> String {
    format!("_meta/models/{stage}")
}

/// Write `metrics.json` and, when given, `model.json` of this run.
pub async fn save<M: Serialize>(
    wh: &Warehouse,
    stage: &str,
    run_id: &str,
    metrics: &serde_json::Value,
    model: Option<&M>,
) -> Result<(), String> {
    let dir = format!("{}/{run_id}", stage_dir(stage));
    let text = serde_json::to_vec_pretty(metrics).map_err(|e| e.to_string())?;
    wh.put(&wh.path(&format!("{dir}/metrics.json")), text)
        .await
        .map_err(|e| crate::report::error_chain_text(&e))?;
    if let Some(model) = model {
        let text = serde_json::to_vec(model).map_err(|e| e.to_string())?;
        wh.put(&wh.path(&format!("{dir}/model.json")), text)
            .await
            .map_err(|e| crate::report::error_chain_text(&e))?;
    }
    Ok(())
}

/// The newest model adopted by a run before `run_id` (run ids sort by time), with that run's
/// id; `None` when there is none.
pub async fn previous_adopted<M: DeserializeOwned>(
    wh: &Warehouse,
    stage: &str,
    run_id: &str,
) -> Result<Option<(String, M)>, String> {
    let err = |e: crate::error::StrataError| crate::report::error_chain_text(&e);
    let dirs = wh
        .child_dirs(&wh.path(&stage_dir(stage)))
        .await
        .map_err(err)?;
    for dir in dirs.iter().rev().filter(|d| d.as_str() < run_id) {
        let base = format!("{}/{dir}", stage_dir(stage));
        let Some(metrics) = wh
            .get(&wh.path(&format!("{base}/metrics.json")))
            .await
            .map_err(err)?
        else {
            continue;
        };
        let metrics: serde_json::Value = match serde_json::from_slice(&metrics) {
            Ok(m) => m,
            Err(_) => continue,
        };
        if metrics.get("adopted") != Some(&serde_json::Value::Bool(true)) {
            continue;
        }
        let Some(model) = wh
            .get(&wh.path(&format!("{base}/model.json")))
            .await
            .map_err(err)?
        else {
            continue;
        };
        let model: M = serde_json::from_slice(&model).map_err(|e| {
            format!("the model of run {dir} ({base}/model.json) does not load: {e}")
        })?;
        return Ok(Some((dir.clone(), model)));
    }
    Ok(None)
}
