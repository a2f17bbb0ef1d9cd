//! Model stages (`kind: model`): the stage's SQL is a features query; its rows are sorted into a
//! fixed order (time, then the id columns), handed to the algorithm, and the algorithm's rows
//! become the stage's output, written, checked and published like any stage's.
//!
//! - [`forest`]: churn-style binary classification with a random forest (train on labelled rows
//!   before a time-based holdout, measure on the holdout, score the unlabelled rows).
//! - [`forecast`]: exponential smoothing per series with prediction intervals and a backtest.
//!
//! [`output_schema`] is the static half: it checks the features query's columns against the
//! model settings and gives the output schema, so `strata validate` plans model stages like SQL
//! stages. Metrics and the trained model go to `_meta/models/<stage>/<run_id>/` ([`store`]).

pub mod experiment;
pub mod forecast;
pub mod forest;
pub mod metrics;
pub mod stats;
pub mod store;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, RecordBatch, StringArray, UInt32Array,
};
use datafusion::arrow::compute::{SortColumn, cast, concat_batches, lexsort_to_indices, take};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::SessionContext;

use super::{Params, stage_sql_options};
use crate::error::{Result, StrataError};
use crate::model::{Algorithm, Materialization, ModelSpec, Stage};
use crate::storage::Warehouse;

/// One model stage's inputs, with its algorithm's settings `S`.
pub struct Job<'a, S> {
    pub wh: &'a Warehouse,
    pub run_id: &'a str,
    pub stage: &'a str,
    pub spec: &'a ModelSpec,
    pub settings: &'a S,
    /// The stage's output schema.
    pub schema: &'a SchemaRef,
    /// The features query's rows, sorted by time and id.
    pub features: &'a RecordBatch,
    /// A forest's feature columns, in column order (empty for other algorithms).
    pub names: &'a [String],
    /// The run's date, for a partitioned stage's `ds` column.
    pub ds: Option<chrono::NaiveDate>,
}

impl<S> Job<'_, S> {
    /// The features query's column `name`.
    pub(crate) fn column(&self, name: &str) -> std::result::Result<&ArrayRef, String> {
        self.features
            .column_by_name(name)
            .ok_or_else(|| format!("the features query returned no column `{name}`"))
    }

    /// The id columns, in `id` order.
    pub(crate) fn id_columns(&self) -> std::result::Result<Vec<&ArrayRef>, String> {
        self.spec.id.iter().map(|i| self.column(i)).collect()
    }
}

/// What a model stage produced besides its rows: a one-line account for the run summary.
#[derive(Debug, Clone)]
pub struct ModelOutcome {
    pub batch: RecordBatch,
    pub note: String,
}

impl ModelOutcome {
    /// `why` no model could be made: an error, or with `when_untrainable: empty` no rows.
    pub(crate) fn untrainable(
        spec: &ModelSpec,
        schema: &SchemaRef,
        why: String,
    ) -> std::result::Result<Self, String> {
        match spec.when_untrainable {
            crate::model::model_spec::Untrainable::Fail => Err(why),
            crate::model::model_spec::Untrainable::Empty => Ok(ModelOutcome {
                batch: RecordBatch::new_empty(schema.clone()),
                note: format!("NO MODEL ({why}): no rows written (when_untrainable: empty)"),
            }),
        }
    }
}

/// The output schema of a model stage whose features query has schema `features`, or why the
/// settings and the query do not fit (naming the column and what would fix it).
pub fn output_schema(
    stage: &Stage,
    spec: &ModelSpec,
    features: &Schema,
) -> std::result::Result<SchemaRef, String> {
    let column = |name: &str, role: &str| -> std::result::Result<DataType, String> {
        features
            .field_with_name(name)
            .map(|f| f.data_type().clone())
            .map_err(|_| {
                let names: Vec<&str> = features
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect();
                let hint = crate::diag::suggest(name, names.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                format!("the features query has no column `{name}` (model `{role}`){hint}")
            })
    };
    let mut fields: Vec<Field> = Vec::new();
    if stage.materialization == Materialization::Partitioned {
        if features.field_with_name("ds").is_ok() {
            return Err("the features query has a column `ds`; a partitioned model stage adds `ds` itself, so rename or drop it".into());
        }
        fields.push(Field::new("ds", DataType::Date32, false));
    }
    for id in &spec.id {
        // Strings are written as plain UTF-8 whatever view the scan used, like a query's output.
        let t = match column(id, "id")? {
            DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
            t => t,
        };
        fields.push(Field::new(id, t, true));
    }
    let time_type = column(&spec.time, "time")?;
    match &spec.algorithm {
        Algorithm::RandomForest(f) => {
            if !orderable(&time_type) {
                return Err(format!(
                    "model `time` column `{}` is {time_type}; it must be a date or a number",
                    spec.time
                ));
            }
            let label = column(&f.label, "label")?;
            if !(label == DataType::Boolean || label.is_integer()) {
                return Err(format!(
                    "model `label` column `{}` is {label}; it must be BOOLEAN or an integer 0/1",
                    f.label
                ));
            }
            let names = feature_names(spec, features)?;
            if names.is_empty() {
                return Err("the features query has no feature column besides the id, time and label columns".into());
            }
            if let Some(b) = &f.baseline
                && !names.contains(b)
            {
                column(b, "baseline")?;
                return Err(format!(
                    "model `baseline` `{b}` is not a feature column (it is the id, time or label)"
                ));
            }
            fields.push(Field::new("probability", DataType::Float64, false));
            for i in 1..=f.explain {
                fields.push(Field::new(format!("top_feature_{i}"), DataType::Utf8, true));
            }
            fields.push(Field::new("model_id", DataType::Utf8, false));
        }
        Algorithm::Ets(e) => {
            if time_type != DataType::Date32 {
                return Err(format!(
                    "model `time` column `{}` is {time_type}; a forecast's periods are DATE (the first day of each month)",
                    spec.time
                ));
            }
            let value = column(&e.value, "value")?;
            if !numeric(&value) {
                return Err(format!(
                    "model `value` column `{}` is {value}; it must be a number",
                    e.value
                ));
            }
            let extra: Vec<&str> = features
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .filter(|n| *n != spec.time && *n != e.value && !spec.id.iter().any(|i| i == n))
                .collect();
            if let Some(x) = extra.first() {
                return Err(format!(
                    "the features query of an `ets` model has column `{x}`, which is not an id, the time or the value; drop it"
                ));
            }
            fields.push(Field::new(&spec.time, DataType::Date32, false));
            fields.push(Field::new("forecast", DataType::Float64, false));
            for level in &e.levels {
                let pct = level_name(*level);
                fields.push(Field::new(format!("lower_{pct}"), DataType::Float64, true));
                fields.push(Field::new(format!("upper_{pct}"), DataType::Float64, true));
            }
            fields.push(Field::new("model", DataType::Utf8, false));
            fields.push(Field::new("backtest_mape", DataType::Float64, true));
            fields.push(Field::new("backtest_months", DataType::Int64, false));
        }
        Algorithm::Experiment(x) => experiment_fields(spec, x, features, time_type, &mut fields)?,
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = fields.iter().find(|f| !seen.insert(f.name().clone())) {
        return Err(format!(
            "the model's output would have two columns `{}`; rename a metric or a column",
            dup.name()
        ));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The output columns of an `experiment` (see [`experiment`]), after checking the features
/// query's columns: a unit id, an orderable period, a string arm, BOOLEAN or integer
/// proportions, integer NPS scores, and no other column.
fn experiment_fields(
    spec: &ModelSpec,
    x: &crate::model::model_spec::ExperimentSpec,
    features: &Schema,
    time_type: DataType,
    fields: &mut Vec<Field>,
) -> std::result::Result<(), String> {
    use crate::model::model_spec::MetricKind;
    if spec.id.is_empty() {
        return Err("an `experiment` needs `id`: the columns naming its unit (for example [customer_id]), one row per unit and period".into());
    }
    // The units are summed over, not copied: drop the id fields pushed for other algorithms.
    fields.retain(|f| !spec.id.iter().any(|i| i == f.name()));
    if !orderable(&time_type) {
        return Err(format!(
            "model `time` column `{}` is {time_type}; a period must be a date or a number",
            spec.time
        ));
    }
    let type_of = |name: &str, role: &str| {
        features
            .field_with_name(name)
            .map(|f| f.data_type().clone())
            .map_err(|_| {
                let hint =
                    crate::diag::suggest(name, features.fields().iter().map(|f| f.name().as_str()))
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                format!("the features query has no column `{name}` (model `{role}`){hint}")
            })
    };
    let arm = type_of(&x.arm, "arm")?;
    if !matches!(
        arm,
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
    ) {
        return Err(format!(
            "model `arm` column `{}` is {arm}; it must be a string (CAST it)",
            x.arm
        ));
    }
    for m in &x.metrics {
        let t = type_of(&m.column, &format!("metrics.{}.column", m.name))?;
        let fits = match m.kind {
            MetricKind::Proportion => t == DataType::Boolean || t.is_integer(),
            MetricKind::Nps => t.is_integer(),
        };
        if !fits {
            return Err(format!(
                "metric `{}`: column `{}` is {t}; a `{}` metric needs {}",
                m.name,
                m.column,
                m.kind.name(),
                match m.kind {
                    MetricKind::Proportion => "BOOLEAN or an integer 0/1",
                    MetricKind::Nps => "an integer score from 0 to 10",
                }
            ));
        }
    }
    if let Some(extra) = features.fields().iter().map(|f| f.name()).find(|n| {
        **n != spec.time
            && **n != x.arm
            && !spec.id.iter().any(|i| i == *n)
            && !x.metrics.iter().any(|m| m.column == **n)
    }) {
        return Err(format!(
            "the features query of an `experiment` has column `{extra}`, which is not an id, the time, the arm or a metric's column; drop it"
        ));
    }
    fields.push(Field::new(&spec.time, time_type, false));
    fields.push(Field::new(&x.arm, DataType::Utf8, false));
    fields.push(Field::new("is_control", DataType::Boolean, false));
    fields.push(Field::new("units", DataType::Int64, false));
    for m in &x.metrics {
        for (i, name) in experiment::metric_columns(&m.name).into_iter().enumerate() {
            let t = if i == 0 {
                DataType::Int64
            } else {
                DataType::Float64
            };
            fields.push(Field::new(name, t, i != 0));
        }
    }
    Ok(())
}

/// `0.8` -> `80`, `0.975` -> `97_5`: the suffix of an interval column.
pub fn level_name(level: f64) -> String {
    let pct = format!("{}", (level * 1000.0).round() / 10.0);
    pct.replace('.', "_")
}

/// The feature columns of a forest: every column but the id, time and label, each numeric or
/// BOOLEAN.
fn feature_names(spec: &ModelSpec, features: &Schema) -> std::result::Result<Vec<String>, String> {
    let Algorithm::RandomForest(f) = &spec.algorithm else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for field in features.fields() {
        let n = field.name();
        if *n == spec.time || *n == f.label || spec.id.iter().any(|i| i == n) {
            continue;
        }
        if !(numeric(field.data_type()) || field.data_type() == &DataType::Boolean) {
            return Err(format!(
                "feature column `{n}` is {}; model features must be numbers or BOOLEAN (turn a date into days, a category into flags)",
                field.data_type()
            ));
        }
        out.push(n.clone());
    }
    Ok(out)
}

fn numeric(t: &DataType) -> bool {
    t.is_numeric()
}

fn orderable(t: &DataType) -> bool {
    numeric(t) || matches!(t, DataType::Date32 | DataType::Date64)
}

/// Run a model stage: its features query, then its algorithm. The rows come back in the output
/// schema; the caller writes them like a query's result.
pub async fn run(
    ctx: &SessionContext,
    wh: &Warehouse,
    run_id: &str,
    stage: &Stage,
    spec: &ModelSpec,
    schema: &SchemaRef,
    params: &Params,
) -> Result<ModelOutcome> {
    let stage_err = |source| StrataError::Stage {
        stage: stage.name.clone(),
        sql_file: stage.sql_display.clone(),
        source,
    };
    let df = ctx
        .sql_with_options(&stage.sql, stage_sql_options())
        .await
        .map_err(stage_err)?
        .with_param_values(params.to_param_values())
        .map_err(stage_err)?;
    // The physical plan's schema: the logical one can hold NULL types for parameters whose
    // type was inferred before their value was bound.
    let task = Arc::new(df.task_ctx());
    let physical = df.create_physical_plan().await.map_err(stage_err)?;
    let features_schema = physical.schema();
    let batches = datafusion::physical_plan::collect(physical, task)
        .await
        .map_err(stage_err)?;
    let features = sorted_rows(&features_schema, &batches, spec)
        .map_err(|e| StrataError::Engine { source: e })?;
    let fail = |message: String| StrataError::Model {
        stage: stage.name.clone(),
        sql_file: stage.sql_display.clone(),
        message,
    };
    let ds_column = (stage.materialization == Materialization::Partitioned).then_some(params.ds);
    let names = feature_names(spec, &features_schema).map_err(fail)?;
    // A macro rather than a closure: each algorithm's job has its own settings type.
    macro_rules! job {
        ($settings:expr) => {
            Job {
                wh,
                run_id,
                stage: &stage.name,
                spec,
                settings: $settings,
                schema,
                features: &features,
                names: &names,
                ds: ds_column,
            }
        };
    }
    match &spec.algorithm {
        Algorithm::RandomForest(f) => forest::run(job!(f)).await.map_err(fail),
        Algorithm::Ets(e) => forecast::run(job!(e)).await.map_err(fail),
        Algorithm::Experiment(x) => experiment::run(job!(x)).await.map_err(fail),
    }
}

/// All rows of `batches` in one batch, sorted by the time column and then the id columns, so
/// that training and scoring see the same order whatever order the scan returned.
fn sorted_rows(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    spec: &ModelSpec,
) -> std::result::Result<RecordBatch, datafusion::error::DataFusionError> {
    let all = concat_batches(schema, batches)?;
    if all.num_rows() == 0 {
        return Ok(all);
    }
    let mut keys = vec![spec.time.clone()];
    keys.extend(spec.id.iter().cloned());
    let sort: Vec<SortColumn> = keys
        .iter()
        .filter_map(|k| all.column_by_name(k).cloned())
        .map(|values| SortColumn {
            values,
            options: None,
        })
        .collect();
    let order = lexsort_to_indices(&sort, None)?;
    let columns = all
        .columns()
        .iter()
        .map(|c| take(c.as_ref(), &order, None))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A column as f64 values, NULL as NaN. Dates count days since 1970-01-01; BOOLEAN is 0/1.
pub(crate) fn as_f64(column: &ArrayRef) -> std::result::Result<Vec<f64>, String> {
    let values = match column.data_type() {
        DataType::Boolean => {
            let b = column.as_boolean();
            return Ok((0..b.len())
                .map(|i| {
                    if b.is_null(i) {
                        f64::NAN
                    } else if b.value(i) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect());
        }
        DataType::Date32 => {
            let d: &Date32Array = column.as_primitive();
            return Ok((0..d.len())
                .map(|i| {
                    if d.is_null(i) {
                        f64::NAN
                    } else {
                        f64::from(d.value(i))
                    }
                })
                .collect());
        }
        _ => cast(column, &DataType::Float64).map_err(|e| e.to_string())?,
    };
    let f = values.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
    Ok((0..f.len())
        .map(|i| if f.is_null(i) { f64::NAN } else { f.value(i) })
        .collect())
}

/// The rows `rows` of `column`, as the type of the output column `name` of `schema`.
pub(crate) fn pick(
    column: &ArrayRef,
    rows: &[usize],
    schema: &SchemaRef,
    name: &str,
) -> std::result::Result<ArrayRef, String> {
    let idx = UInt32Array::from(rows.iter().map(|r| *r as u32).collect::<Vec<_>>());
    let taken = take(column.as_ref(), &idx, None).map_err(|e| e.to_string())?;
    match schema.field_with_name(name) {
        Ok(f) if f.data_type() != taken.data_type() => {
            cast(&taken, f.data_type()).map_err(|e| e.to_string())
        }
        _ => Ok(taken),
    }
}

/// A Date32 column holding `ds` on `n` rows.
pub(crate) fn ds_column(ds: chrono::NaiveDate, n: usize) -> ArrayRef {
    let days = match crate::model::types::date_scalar(ds) {
        datafusion::scalar::ScalarValue::Date32(Some(d)) => d,
        _ => 0,
    };
    Arc::new(Date32Array::from(vec![days; n]))
}

/// A string column.
pub(crate) fn strings(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}
