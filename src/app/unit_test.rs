//! `strata test`: stage unit tests, run in memory against the real SQL and functions.
//!
//! Each test of `tests/stages/*.yaml` (see [`crate::model::unit_tests`]) registers its given rows
//! as in-memory tables with the schemas the pipeline's validation gives those tables (tables not
//! given are empty), runs the stage's SQL with the test's `ds` and variables and the pipeline's
//! functions, and compares the output with the expected rows on the columns they name. No
//! warehouse is read or written. Values are compared as the engine prints them after converting
//! the expected text to the column's type, so `19.9` equals a DECIMAL(18,2) `19.90`; floating
//! point values are compared to the decimals the expected value is written with (`33.33` matches
//! 33.3333...). Without `ordered: true` the order of rows does not matter.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use serde::Serialize;

use super::{check_schemas, load_project};
use crate::diag::{Location, Problem, ProblemKind, suggest};
use crate::engine::{self, stage_sql_options};
use crate::error::{Result, StrataError};
use crate::model::unit_tests::{self, Row, UnitTest, UnitTestFile};
use crate::model::{Pipeline, Stage};
use crate::settings::{Overrides, RunSettings};

/// The result of one unit test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub stage: String,
    pub test: String,
    /// `file:line:col` of the test.
    pub at: String,
    pub passed: bool,
    /// Why it failed: an error, or the row differences (`-` expected and not produced, `+`
    /// produced and not expected).
    pub failure: Vec<String>,
    pub millis: u128,
}

/// What `strata test` found.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    pub passed: usize,
    pub failed: usize,
    pub results: Vec<TestResult>,
}

/// Run the unit tests of `stages` (all when empty) of the project's `tests/stages/` directory.
///
/// # Errors
/// The pipeline's validation problems, problems of the test files (located), or an unknown
/// stage name in `stages`.
pub async fn run_tests(
    given: Option<&Path>,
    overrides: &Overrides,
    stages: &[String],
) -> Result<TestOutcome> {
    let project = load_project(given)?;
    let pipeline = &project.pipeline;
    let dir = pipeline.project_dir.join("tests").join("stages");
    let files = unit_tests::load_dir(&dir, &pipeline.project_dir)
        .map_err(|problems| StrataError::Invalid { problems })?;
    for name in stages {
        if pipeline.stage(name).is_none() {
            return Err(StrataError::UnknownStage {
                stage: name.clone(),
                suggestion: suggest(name, pipeline.stages.iter().map(|s| s.name.as_str())),
            });
        }
    }
    let problems: Vec<Problem> = files
        .iter()
        .filter_map(|f| stage_problem(pipeline, f))
        .collect();
    if !problems.is_empty() {
        return Err(StrataError::Invalid { problems });
    }
    let settings = RunSettings::resolve(pipeline, overrides)?;
    let sources = engine::validate::static_source_schemas(
        pipeline,
        &engine::preflight::sources_of(&project.plan),
        settings.params.ds,
    )
    .await;
    let schemas = check_schemas(&project, &settings, &project.plan, &sources).await?;
    let mut results = Vec::new();
    for file in &files {
        if !stages.is_empty() && !stages.contains(&file.stage) {
            continue;
        }
        let Some(stage) = pipeline.stage(&file.stage) else {
            continue;
        };
        let inputs: Vec<&str> = project
            .plan
            .stages
            .iter()
            .find(|s| s.name == stage.name)
            .map(|s| s.inputs.iter().map(|i| i.table.as_str()).collect())
            .unwrap_or_default();
        for test in &file.tests {
            let started = Instant::now();
            let failure = match run_one(pipeline, stage, &inputs, &schemas.tables, test).await {
                Ok(diff) => diff,
                Err(e) => vec![e],
            };
            results.push(TestResult {
                stage: stage.name.clone(),
                test: test.name.clone(),
                at: test.at.to_string(),
                passed: failure.is_empty(),
                failure,
                millis: started.elapsed().as_millis(),
            });
        }
    }
    let passed = results.iter().filter(|r| r.passed).count();
    Ok(TestOutcome {
        passed,
        failed: results.len() - passed,
        results,
    })
}

fn stage_problem(pipeline: &Pipeline, file: &UnitTestFile) -> Option<Problem> {
    if pipeline.stage(&file.stage).is_some() {
        return None;
    }
    let hint = suggest(&file.stage, pipeline.stages.iter().map(|s| s.name.as_str()))
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    Some(Problem::at(
        file.stage_at.clone(),
        ProblemKind::InvalidValue {
            key: "stage".into(),
            value: file.stage.clone(),
            reason: format!("the pipeline has no stage of this name{hint}"),
        },
    ))
}

type Tables = std::collections::BTreeMap<String, SchemaRef>;

/// Run one test; `Ok` with the differences (empty when it passed), `Err` with why it could not
/// be run or compared.
async fn run_one(
    pipeline: &Pipeline,
    stage: &Stage,
    inputs: &[&str],
    tables: &Tables,
    test: &UnitTest,
) -> std::result::Result<Vec<String>, String> {
    if test.ds.is_none() && stage.sql.contains("$ds") {
        return Err(format!(
            "{}: the stage reads $ds; set `ds:` in the test",
            test.at
        ));
    }
    if let Some(ds) = &test.ds {
        crate::model::types::parse_date(ds)
            .map_err(|reason| format!("{}: invalid `ds` `{ds}`: {reason}", test.at))?;
    }
    let overrides = Overrides {
        ds: test.ds.clone(),
        vars: test.vars.clone(),
        ..Overrides::default()
    };
    let settings = RunSettings::resolve(pipeline, &overrides)
        .map_err(|e| format!("{}: {}", test.at, crate::report::error_chain_text(&e)))?;
    let ctx = engine::session(&settings.engine, None, pipeline).map_err(|e| e.to_string())?;
    for given in &test.given {
        if !inputs.contains(&given.table.as_str()) {
            let hint = suggest(&given.table, inputs.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(format!(
                "{}: stage `{}` does not read `{}`{hint}",
                given.at, stage.name, given.table
            ));
        }
    }
    for input in inputs {
        let schema = nullable(
            tables
                .get(*input)
                .ok_or_else(|| format!("the schema of `{input}` is unknown"))?,
        );
        let rows = test
            .given
            .iter()
            .find(|g| g.table == *input)
            .map(|g| &g.rows[..]);
        let batch = build_batch(&schema, rows.unwrap_or_default(), input)?;
        let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(|e| e.to_string())?;
        ctx.register_table(*input, Arc::new(table))
            .map_err(|e| e.to_string())?;
    }
    let run = async {
        let df = ctx
            .sql_with_options(&stage.sql, stage_sql_options())
            .await?
            .with_param_values(settings.params.to_param_values())?;
        // The physical plan's schema is what a run writes: the logical one can disagree when a
        // parameter's type was inferred before its value was bound (see validate::plan_stage).
        let task = Arc::new(df.task_ctx());
        let physical = df.create_physical_plan().await?;
        let schema: SchemaRef = physical.schema();
        let batches = datafusion::physical_plan::collect(physical, task).await?;
        Ok::<_, datafusion::error::DataFusionError>((schema, batches))
    };
    let (schema, batches) = run.await.map_err(|e| {
        format!(
            "{}: stage `{}` failed: {}",
            test.at,
            stage.name,
            engine::validate::clean_message(&e)
        )
    })?;
    compare(&schema, &batches, test)
}

fn nullable(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// The given rows as one batch of `schema`; columns a row does not name are null.
fn build_batch(
    schema: &SchemaRef,
    rows: &[Row],
    table: &str,
) -> std::result::Result<RecordBatch, String> {
    for row in rows {
        for cell in &row.cells {
            if schema.field_with_name(&cell.column).is_err() {
                let names = schema.fields().iter().map(|f| f.name().as_str());
                let hint = suggest(&cell.column, names)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "{}: `{table}` has no column `{}`{hint}",
                    cell.at, cell.column
                ));
            }
        }
    }
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let values: Vec<(Option<&str>, Option<&Location>)> = rows
                .iter()
                .map(|r| match r.cells.iter().find(|c| &c.column == f.name()) {
                    Some(c) => (c.value.as_deref(), Some(&c.at)),
                    None => (None, None),
                })
                .collect();
            typed(&values, f.data_type(), f.name())
        })
        .collect::<std::result::Result<Vec<ArrayRef>, String>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

/// Text values converted to `to` by Arrow's cast (strict: a value that does not convert is an
/// error naming its place).
fn typed(
    values: &[(Option<&str>, Option<&Location>)],
    to: &DataType,
    column: &str,
) -> std::result::Result<ArrayRef, String> {
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let text: ArrayRef = Arc::new(StringArray::from(
        values.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
    ));
    cast_with_options(&text, to, &strict).map_err(|_| {
        // Find the value that does not convert, to name its place.
        for (value, at) in values {
            let one: ArrayRef = Arc::new(StringArray::from(vec![*value]));
            if let Err(e) = cast_with_options(&one, to, &strict) {
                let place = at.map(|l| format!("{l}: ")).unwrap_or_default();
                return format!(
                    "{place}`{}` is not a valid {to} for column `{column}`: {e}",
                    value.unwrap_or("null")
                );
            }
        }
        format!("column `{column}`: the values do not convert to {to}")
    })
}

/// One compared value: null, a float (with the expected value's decimals), or engine text.
#[derive(Debug, Clone, PartialEq)]
enum Cmp {
    Null,
    Float(f64),
    Text(String),
}

fn is_float(t: &DataType) -> bool {
    matches!(t, DataType::Float16 | DataType::Float32 | DataType::Float64)
}

/// The expected rows against `batches`: the difference lines, empty when equal.
fn compare(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    test: &UnitTest,
) -> std::result::Result<Vec<String>, String> {
    let mut columns: Vec<String> = Vec::new();
    for row in &test.expect {
        for cell in &row.cells {
            if schema.field_with_name(&cell.column).is_err() {
                let names = schema.fields().iter().map(|f| f.name().as_str());
                let hint = suggest(&cell.column, names)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "{}: the output has no column `{}`{hint}",
                    cell.at, cell.column
                ));
            }
            if !columns.contains(&cell.column) {
                columns.push(cell.column.clone());
            }
        }
    }
    // Actual rows, as the compared columns' values.
    let options = FormatOptions::default().with_null("");
    let mut actual: Vec<Vec<Cmp>> = Vec::new();
    for b in batches {
        let arrays: Vec<&ArrayRef> = columns
            .iter()
            .map(|c| b.column(schema.index_of(c).unwrap_or(0)))
            .collect();
        let formatters = arrays
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &options))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for i in 0..b.num_rows() {
            actual.push(
                arrays
                    .iter()
                    .zip(&formatters)
                    .map(|(a, f)| {
                        if a.is_null(i) {
                            Cmp::Null
                        } else if is_float(a.data_type()) {
                            Cmp::Float(f.value(i).to_string().parse().unwrap_or(f64::NAN))
                        } else {
                            Cmp::Text(f.value(i).to_string())
                        }
                    })
                    .collect(),
            );
        }
    }
    // Expected rows: each named value converted to the column's type and printed the same way.
    let mut expected: Vec<Vec<(usize, Cmp, usize)>> = Vec::new();
    for row in &test.expect {
        let mut cells = Vec::new();
        for cell in &row.cells {
            let col = columns.iter().position(|c| c == &cell.column).unwrap_or(0);
            let field = schema
                .field_with_name(&cell.column)
                .map_err(|e| e.to_string())?;
            let value = match &cell.value {
                None => (Cmp::Null, 0),
                Some(text) if is_float(field.data_type()) => {
                    let v: f64 = text.trim().parse().map_err(|_| {
                        format!(
                            "{}: `{text}` is not a number (column `{}`)",
                            cell.at, cell.column
                        )
                    })?;
                    (Cmp::Float(v), decimals(text))
                }
                Some(text) => {
                    let arr = typed(
                        &[(Some(text), Some(&cell.at))],
                        field.data_type(),
                        &cell.column,
                    )?;
                    let f = ArrayFormatter::try_new(arr.as_ref(), &options)
                        .map_err(|e| e.to_string())?;
                    (Cmp::Text(f.value(0).to_string()), 0)
                }
            };
            cells.push((col, value.0, value.1));
        }
        expected.push(cells);
    }
    let matches = |e: &[(usize, Cmp, usize)], a: &[Cmp]| {
        e.iter().all(|(col, want, digits)| match (want, &a[*col]) {
            (Cmp::Float(w), Cmp::Float(g)) => {
                (g - w).abs() <= 0.5 * 10f64.powi(-(*digits as i32)) + 1e-12 * w.abs().max(1.0)
            }
            (w, g) => w == g,
        })
    };
    let mut diff = Vec::new();
    let mut used = vec![false; actual.len()];
    for (k, e) in expected.iter().enumerate() {
        let found = if test.ordered {
            (k < actual.len() && matches(e, &actual[k])).then_some(k)
        } else {
            (0..actual.len()).find(|&i| !used[i] && matches(e, &actual[i]))
        };
        match found {
            Some(i) => used[i] = true,
            None => diff.push(format!(
                "- {}  ({})",
                show_expected(&test.expect[k]),
                test.expect[k].at
            )),
        }
    }
    for (i, row) in actual.iter().enumerate().filter(|(i, _)| !used[*i]) {
        let shown: Vec<String> = columns
            .iter()
            .zip(row)
            .map(|(c, v)| format!("{c}: {}", show(v)))
            .collect();
        diff.push(format!(
            "+ {{{}}}  (output row {})",
            shown.join(", "),
            i + 1
        ));
    }
    Ok(diff)
}

/// Digits after the decimal point of a written number (none for an exponent form).
fn decimals(text: &str) -> usize {
    let t = text.trim();
    if t.contains(['e', 'E']) {
        return 12;
    }
    t.split_once('.').map(|(_, d)| d.len()).unwrap_or(0)
}

fn show(v: &Cmp) -> String {
    match v {
        Cmp::Null => "null".into(),
        Cmp::Float(f) => f.to_string(),
        Cmp::Text(t) => t.clone(),
    }
}

fn show_expected(row: &Row) -> String {
    let cells: Vec<String> = row
        .cells
        .iter()
        .map(|c| format!("{}: {}", c.column, c.value.as_deref().unwrap_or("null")))
        .collect();
    format!("{{{}}}", cells.join(", "))
}
