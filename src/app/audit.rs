//! A stage's audit: its checks and summary line run on its staged output, before anything
//! is published.

use crate::checks::{self, CheckResult};
use crate::engine::stage;
use crate::error::Result;
use crate::model::Materialization;
use crate::model::checks::CheckKind;
use crate::settings::RunSettings;
use crate::storage::Warehouse;
use crate::storage::release::{self, PendingRelease};

/// Run the checks declared on the sources in `names`, on what the run will read. A failing
/// `error` check stops the run before any stage: the error names the check and sample rows.
pub async fn source_checks(
    ctx: &datafusion::prelude::SessionContext,
    resolved: &crate::engine::sources::ResolvedSources,
    names: &[&str],
    settings: &RunSettings,
) -> Result<Vec<CheckResult>> {
    let mut all = Vec::new();
    for name in names {
        let Some(source) = resolved.get(name) else {
            continue;
        };
        if source.source.checks.is_empty() {
            continue;
        }
        source.register(ctx, checks::THIS)?;
        let results =
            checks::run_checks(ctx, name, &source.source.checks, &settings.params, None).await;
        let _ = ctx.deregister_table(checks::THIS);
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.blocks())
            .map(describe_failure)
            .collect();
        if !failed.is_empty() {
            return Err(crate::error::StrataError::SourceChecksFailed {
                source_name: name.to_string(),
                failed,
            });
        }
        all.extend(results);
    }
    Ok(all)
}

/// "check `x`: 2 of 7 rows fail (e.g. JPY, EUR)".
fn describe_failure(r: &CheckResult) -> String {
    let mut text = format!("check `{}`", r.check);
    match &r.message {
        Some(m) if r.failing == 0 => text.push_str(&format!(" could not run: {m}")),
        _ => {
            text.push_str(&format!(": {} of {} rows fail", r.failing, r.total));
            if !r.samples.is_empty() {
                text.push_str(&format!(" (e.g. {})", r.samples.join(", ")));
            }
        }
    }
    text
}

/// Run a stage's checks on its staged output. Returns the results and the names of the
/// checks that block publication.
pub async fn audit(
    ctx: &datafusion::prelude::SessionContext,
    wh: &Warehouse,
    pending: &PendingRelease,
    def: &crate::model::Stage,
    schema: &datafusion::arrow::datatypes::SchemaRef,
    output: &stage::StageOutput,
    settings: &RunSettings,
) -> Result<(Vec<CheckResult>, Vec<String>, Option<String>)> {
    let mut specs = def.checks.clone();
    if def.layer == crate::model::Layer::Ads
        && !specs.iter().any(|c| c.kind == CheckKind::NoPersonalData)
    {
        specs.push(crate::model::checks::CheckSpec::personal_data_gate(
            def.at.clone(),
        ));
    }
    if specs.is_empty() && def.summary.is_none() {
        return Ok((Vec::new(), Vec::new(), None));
    }
    let partitioned = def.materialization == Materialization::Partitioned;
    // The checks read exactly the files the write produced (for a partitioned stage, this run's
    // partition only).
    let file_schema = stage::file_schema(schema, partitioned);
    stage::register_files(ctx, wh, checks::THIS, &output.data_files, &file_schema)?;
    let wants_previous = specs.iter().any(|c| {
        matches!(
            c.kind,
            CheckKind::RowCount {
                max_change_pct: Some(_),
                ..
            }
        )
    });
    let previous = match (&pending.base, wants_previous) {
        (Some(base), true) => previous_rows(ctx, wh, base, def, &file_schema, output).await?,
        _ => None,
    };
    let results = checks::run_checks(ctx, &def.name, &specs, &settings.params, previous).await;
    let summary = match &def.summary {
        Some(query) => Some(checks::summary_line(ctx, query, &settings.params).await),
        None => None,
    };
    let _ = ctx.deregister_table(checks::THIS);
    let blocked = results
        .iter()
        .filter(|r| r.blocks())
        .map(|r| r.check.clone())
        .collect();
    Ok((results, blocked, summary))
}

/// Rows of the same table in the previous release: the whole table, or for a partitioned
/// table the newest partition before this run's.
async fn previous_rows(
    ctx: &datafusion::prelude::SessionContext,
    wh: &Warehouse,
    base: &str,
    def: &crate::model::Stage,
    file_schema: &datafusion::arrow::datatypes::SchemaRef,
    output: &stage::StageOutput,
) -> Result<Option<u64>> {
    let mut dir = release::table_dir(base, def.layer, &def.name);
    if let Some(part) = &output.partition {
        let earlier = wh
            .child_dirs(&wh.path(&dir))
            .await?
            .into_iter()
            .filter(|d| d.as_str() < part.as_str())
            .max();
        match earlier {
            Some(p) => dir = format!("{dir}/{p}"),
            None => return Ok(None),
        }
    }
    if wh.list(&wh.path(&dir)).await?.is_empty() {
        return Ok(None);
    }
    const PREVIOUS: &str = "__previous";
    stage::register_output(ctx, wh, PREVIOUS, &dir, file_schema, false)?;
    let counted = match ctx.table(PREVIOUS).await {
        Ok(df) => df.count().await.ok().map(|n| n as u64),
        Err(_) => None,
    };
    let _ = ctx.deregister_table(PREVIOUS);
    Ok(counted)
}
