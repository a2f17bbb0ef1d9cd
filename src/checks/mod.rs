//! Running declared data checks on a stage's staged output. Results are data, not errors.
//!
//! The staged output is registered as the table `this`; every check compiles to a DataFusion
//! query over it (through the DataFrame API, so configured values never become SQL text; only
//! the pipeline author's own `expression` and `sql` checks are SQL). A failing check reports how
//! many rows fail, out of how many, and up to five sample values of the checked columns, with
//! anything shaped like a phone number or an e-mail address masked.

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::JoinType;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::{count, max, sum};
use datafusion::logical_expr::{Expr, lit};
use datafusion::prelude::{SessionContext, coalesce, ident, not};

use crate::engine::{Params, stage_sql_options};
use crate::model::checks::{CheckKind, CheckSpec, Severity, Threshold};

/// The table name under which a stage's staged output is visible to its checks.
pub const THIS: &str = "this";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    /// Failed, but with severity `warn`.
    Warn,
    Fail,
    /// The check itself could not run (for example an unknown column).
    Error,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckResult {
    pub stage: String,
    pub check: String,
    pub kind: &'static str,
    pub severity: Severity,
    pub status: CheckStatus,
    pub failing: u64,
    pub total: u64,
    pub samples: Vec<String>,
    pub message: Option<String>,
}

impl CheckResult {
    /// Does this result block publication?
    pub fn blocks(&self) -> bool {
        self.severity == Severity::Error
            && matches!(self.status, CheckStatus::Fail | CheckStatus::Error)
    }
}

/// Run every check of `stage` against the table [`THIS`] registered in `ctx`.
/// `previous_rows` is the row count of the table (or latest partition) in the previous release.
pub async fn run_checks(
    ctx: &SessionContext,
    stage: &str,
    checks: &[CheckSpec],
    params: &Params,
    previous_rows: Option<u64>,
) -> Vec<CheckResult> {
    let mut out = Vec::with_capacity(checks.len());
    for spec in checks {
        let mut evaluated = evaluate(ctx, spec, params, previous_rows).await;
        // A check that failed while executing (not while planning) is evaluated once more
        // before it blocks its stage: on a cluster the executor holding its result can be lost
        // while the client reads it, and Ballista does not run a finished job again.
        if let Err(e) = &evaluated
            && !is_planning_error(e)
        {
            tracing::warn!(
                "check `{}` of `{stage}` failed to run ({}); evaluating it again",
                spec.name,
                crate::engine::validate::clean_message(e)
            );
            evaluated = evaluate(ctx, spec, params, previous_rows).await;
        }
        let result = match evaluated {
            Ok(e) => {
                let failed = e.failing > allowed(spec.threshold, e.total);
                CheckResult {
                    stage: stage.to_string(),
                    check: spec.name.clone(),
                    kind: spec.kind.kind_name(),
                    severity: spec.severity,
                    status: match (failed, spec.severity) {
                        (false, _) => CheckStatus::Pass,
                        (true, Severity::Warn) => CheckStatus::Warn,
                        (true, Severity::Error) => CheckStatus::Fail,
                    },
                    failing: e.failing,
                    total: e.total,
                    samples: if failed { e.samples } else { Vec::new() },
                    message: e.message,
                }
            }
            Err(err) => CheckResult {
                stage: stage.to_string(),
                check: spec.name.clone(),
                kind: spec.kind.kind_name(),
                severity: spec.severity,
                status: CheckStatus::Error,
                failing: 0,
                total: 0,
                samples: Vec::new(),
                message: Some(crate::engine::validate::clean_message(&err)),
            },
        };
        out.push(result);
    }
    out
}

/// The names of the blocking checks `failed`, separated by commas; a check of `results` that
/// could not be evaluated (an error, not failing rows) with why: "x (could not run: ...)".
pub fn describe_blocking(results: &[CheckResult], failed: &[String]) -> String {
    failed
        .iter()
        .map(|name| {
            let errored = results
                .iter()
                .find(|c| &c.check == name && c.status == CheckStatus::Error);
            match errored.and_then(|c| c.message.as_deref()) {
                Some(why) => format!("{name} (could not run: {why})"),
                None => name.clone(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// An error of the check's query itself (it would fail again the same way).
fn is_planning_error(e: &DataFusionError) -> bool {
    matches!(
        e.find_root(),
        DataFusionError::Plan(_)
            | DataFusionError::SchemaError(..)
            | DataFusionError::SQL(..)
            | DataFusionError::NotImplemented(_)
            | DataFusionError::Configuration(_)
    )
}

fn allowed(threshold: Option<Threshold>, total: u64) -> u64 {
    match threshold {
        None => 0,
        Some(Threshold::Count(n)) => n,
        Some(Threshold::Percent(p)) => ((p / 100.0) * total as f64).floor() as u64,
    }
}

struct Evaluation {
    failing: u64,
    total: u64,
    samples: Vec<String>,
    message: Option<String>,
}

type DfResult<T> = Result<T, DataFusionError>;

async fn evaluate(
    ctx: &SessionContext,
    spec: &CheckSpec,
    params: &Params,
    previous_rows: Option<u64>,
) -> DfResult<Evaluation> {
    let this = ctx.table(THIS).await?;
    let total = this.clone().count().await? as u64;
    let failing_rows = |df: DataFrame, sample_cols: Vec<String>| async move {
        crate::engine::portable::check(ctx, df.logical_plan())?;
        let failing = df.clone().count().await? as u64;
        let samples = if failing > 0 && !sample_cols.is_empty() {
            samples(df, &sample_cols).await?
        } else {
            Vec::new()
        };
        DfResult::Ok(Evaluation {
            failing,
            total,
            samples,
            message: None,
        })
    };
    match &spec.kind {
        CheckKind::NotNull { columns } => {
            let cond = columns
                .iter()
                .map(|c| ident(c).is_null())
                .reduce(Expr::or)
                .unwrap_or(lit(false));
            let key = sample_key(&this, columns);
            failing_rows(this.filter(cond)?, key).await
        }
        CheckKind::Unique { columns } => {
            let groups = this
                .aggregate(
                    columns.iter().map(ident).collect(),
                    vec![count(lit(1)).alias("__n")],
                )?
                .filter(ident("__n").gt(lit(1i64)))?;
            let dup_rows = groups
                .clone()
                .aggregate(vec![], vec![sum(ident("__n")).alias("__rows")])?
                .collect()
                .await?;
            let failing = dup_rows
                .first()
                .and_then(|b| {
                    let a = b.column(0).as_primitive_opt::<Int64Type>()?;
                    (!a.is_null(0)).then(|| a.value(0) as u64)
                })
                .unwrap_or(0);
            let samples = if failing > 0 {
                samples(groups, columns).await?
            } else {
                Vec::new()
            };
            Ok(Evaluation {
                failing,
                total,
                samples,
                message: None,
            })
        }
        CheckKind::AcceptedValues { column, values } => {
            let list = values.iter().map(|v| lit(v.clone())).collect();
            let cond = ident(column)
                .is_not_null()
                .and(ident(column).in_list(list, true));
            failing_rows(this.filter(cond)?, vec![column.clone()]).await
        }
        CheckKind::AcceptedRange { column, min, max } => {
            let mut cond = lit(false);
            if let Some(min) = min {
                cond = cond.or(ident(column).lt(lit(*min)));
            }
            if let Some(max) = max {
                cond = cond.or(ident(column).gt(lit(*max)));
            }
            failing_rows(this.filter(cond)?, vec![column.clone()]).await
        }
        CheckKind::Relationships { column, to, field } => {
            let target = ctx
                .table(to.as_str())
                .await?
                .select(vec![ident(field).alias("__ref")])?
                .distinct()?;
            let orphans = this.filter(ident(column).is_not_null())?.join(
                target,
                JoinType::LeftAnti,
                &[column.as_str()],
                &["__ref"],
                None,
            )?;
            failing_rows(orphans, vec![column.clone()]).await
        }
        CheckKind::RowCount {
            min,
            max,
            max_change_pct,
        } => {
            let mut problems = Vec::new();
            if let Some(min) = min.filter(|m| total < *m) {
                problems.push(format!("{total} rows, fewer than the minimum {min}"));
            }
            if let Some(max) = max.filter(|m| total > *m) {
                problems.push(format!("{total} rows, more than the maximum {max}"));
            }
            if let (Some(pct), Some(prev)) = (max_change_pct, previous_rows)
                && prev > 0
            {
                let change = 100.0 * (total as f64 - prev as f64) / prev as f64;
                if change.abs() > *pct {
                    problems.push(format!(
                        "{total} rows, a change of {change:+.1}% from {prev} in the previous release (limit {pct}%)"
                    ));
                }
            }
            Ok(Evaluation {
                failing: u64::from(!problems.is_empty()),
                total,
                samples: Vec::new(),
                message: (!problems.is_empty()).then(|| problems.join("; ")),
            })
        }
        CheckKind::Expression { expr } => {
            let e = this.parse_sql_expr(expr)?;
            let key = sample_key(&this, &[]);
            let failing = this
                .filter(not(coalesce(vec![e, lit(false)])))?
                .with_param_values(params.to_param_values())?;
            failing_rows(failing, key).await
        }
        CheckKind::Sql { query } => {
            let df = ctx
                .sql_with_options(query, stage_sql_options())
                .await?
                .with_param_values(params.to_param_values())?;
            let cols: Vec<String> = df
                .schema()
                .fields()
                .iter()
                .take(1)
                .map(|f| f.name().clone())
                .collect();
            failing_rows(df, cols).await
        }
        CheckKind::NoPersonalData => personal_data(this, total).await,
        CheckKind::Freshness {
            column,
            max_age_days,
        } => {
            let latest = this
                .aggregate(vec![], vec![max(ident(column)).alias("__latest")])?
                .select(vec![
                    datafusion::prelude::cast(ident("__latest"), DataType::Date32).alias("__d"),
                ])?
                .collect()
                .await?;
            let latest_day = latest.first().and_then(|b| {
                let a = b
                    .column(0)
                    .as_primitive_opt::<datafusion::arrow::datatypes::Date32Type>()?;
                (!a.is_null(0)).then(|| a.value(0))
            });
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
            let ds_day = (params.ds - epoch).num_days();
            let stale = match latest_day {
                None => Some("no rows".to_string()),
                Some(d) if ds_day - i64::from(d) > *max_age_days => Some(format!(
                    "latest {column} is {} days before ds (limit {max_age_days})",
                    ds_day - i64::from(d)
                )),
                Some(_) => None,
            };
            Ok(Evaluation {
                failing: u64::from(stale.is_some()),
                total,
                samples: Vec::new(),
                message: stale,
            })
        }
    }
}

/// Column names that carry personal data whatever their values.
const PERSONAL_COLUMNS: &[&str] = &[
    "phone",
    "mobile",
    "tel",
    "telephone",
    "email",
    "e_mail",
    "contact_name",
    "name_raw",
    "id_card",
    "id_number",
    "identity_number",
    "passport",
    "address",
];
/// Phone (mainland mobile, optionally +86), e-mail, and 18-digit resident ID number shapes. Digit
/// runs inside identifiers (`CU15012344473B`) are not phones: the shape must stand alone.
const PERSONAL_VALUE: &str = r"(^|[^0-9A-Za-z])(\+?86[- ]?)?1[3-9][0-9]{9}([^0-9A-Za-z]|$)|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|(^|[^0-9A-Za-z])[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]([^0-9A-Za-z]|$)";

async fn personal_data(this: DataFrame, total: u64) -> DfResult<Evaluation> {
    let mut problems = Vec::new();
    let mut failing = 0u64;
    let mut samples = Vec::new();
    for field in this.schema().fields() {
        let name = field.name();
        if PERSONAL_COLUMNS.contains(&name.to_ascii_lowercase().as_str()) {
            problems.push(format!("column `{name}` is personal data by its name"));
            failing = failing.max(total.max(1));
            continue;
        }
        let is_text = matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        );
        if !is_text {
            continue;
        }
        let hits = this.clone().filter(
            datafusion::functions::expr_fn::regexp_like(ident(name), lit(PERSONAL_VALUE), None)
                .is_true(),
        )?;
        let n = hits.clone().count().await? as u64;
        if n > 0 {
            problems.push(format!(
                "column `{name}` has {n} value(s) shaped like a phone, e-mail or ID number"
            ));
            failing = failing.max(n);
            samples.extend(self::samples(hits, std::slice::from_ref(name)).await?);
        }
    }
    Ok(Evaluation {
        failing,
        total,
        samples: samples.into_iter().take(5).collect(),
        message: (!problems.is_empty()).then(|| problems.join("; ")),
    })
}

/// Columns to show as samples for row-level checks: an id-like key column when the table has
/// one, else the checked columns.
fn sample_key(df: &DataFrame, checked: &[String]) -> Vec<String> {
    let id = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .find(|n| n == "id" || n.ends_with("_id"));
    match id {
        Some(id) => vec![id],
        None => checked.to_vec(),
    }
}

async fn samples(df: DataFrame, columns: &[String]) -> DfResult<Vec<String>> {
    let batches = df
        .select(columns.iter().map(ident).collect::<Vec<Expr>>())?
        .distinct()?
        .limit(0, Some(5))?
        .collect()
        .await?;
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in &batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<_, _>>()?;
        for row in 0..b.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .zip(b.schema().fields())
                .map(|(f, field)| visible(&mask_sample(field.name(), &f.value(row).to_string())))
                .collect();
            out.push(cells.join(" | "));
        }
    }
    Ok(out)
}

/// A sample as a reader can tell it from another: characters that show nothing (zero-width
/// spaces, the byte order mark, controls) written as `\u{feff}`, so `\u{feff}B` does not look
/// like `B`.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if crate::engine::normalize::is_invisible(c) || c.is_control() {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Mask a sample cell of `column` before it leaves the warehouse. Identifier columns (`id`,
/// `*_id`, `*_uid`, `*_code`, `*_key`, `r`, `label`, `record*`) keep their values, which a
/// steward needs to find the row (`CU509A12341185` is a customer id, not a phone), unless the
/// value is nothing but a phone number (shops that use the mobile as the account id); other
/// columns go through [`mask_pii`].
pub fn mask_sample(column: &str, value: &str) -> String {
    let c = column.to_ascii_lowercase();
    let identifier = c == "id"
        || c == "r"
        || c == "label"
        || c.starts_with("record")
        || ["_id", "_uid", "_code", "_key", "_r"]
            .iter()
            .any(|s| c.ends_with(s));
    let phone_only = value
        .chars()
        .all(|ch| ch.is_ascii_digit() || matches!(ch, '+' | '-' | ' ' | '(' | ')' | '.'));
    if identifier && !phone_only && !value.contains('@') {
        value.to_string()
    } else {
        mask_pii(value)
    }
}

/// Mask values shaped like personal data before they leave the warehouse in a sample.
pub fn mask_pii(value: &str) -> String {
    use crate::engine::udf::{mask_email, mask_phone};
    // Already masked by the stage (`138****8000`, `z***@example.com`): masking again would
    // hide what is left.
    if value.contains("***") {
        return value.to_string();
    }
    if value.contains('@') {
        return mask_email(value);
    }
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if digits >= 7 && digits * 2 >= value.chars().count() {
        return mask_phone(value);
    }
    value.to_string()
}

/// The first row of `query` (over [`THIS`]) as one line of text; the error text if it fails.
pub async fn summary_line(ctx: &SessionContext, query: &str, params: &Params) -> String {
    let run = async {
        let batches = ctx
            .sql_with_options(query, stage_sql_options())
            .await?
            .with_param_values(params.to_param_values())?
            .limit(0, Some(1))?;
        crate::engine::portable::check(ctx, batches.logical_plan())?;
        let batches = batches.collect().await?;
        let options = FormatOptions::default().with_null("NULL");
        let mut cells = Vec::new();
        if let Some(b) = batches.iter().find(|b| b.num_rows() > 0) {
            for c in b.columns() {
                cells.push(
                    ArrayFormatter::try_new(c.as_ref(), &options)?
                        .value(0)
                        .to_string(),
                );
            }
        }
        DfResult::Ok(cells.join(" "))
    };
    match run.await {
        Ok(line) => line,
        Err(e) => format!(
            "summary failed: {}",
            crate::engine::validate::clean_message(&e)
        ),
    }
}
