//! `strata test`: stage unit tests, run in memory against the real SQL and functions.
//!
//! Each test of `tests/stages/*.yaml` (see [`crate::model::unit_tests`]) registers its given rows
//! as in-memory tables with the schemas the pipeline's validation gives those tables (tables not
//! given are empty), runs the stage's SQL with the test's `ds` and variables and the pipeline's
//! functions, and compares the output with the expected rows on the columns they name. No
//! warehouse is read or written. Values are compared as the engine prints them after converting
//! the expected text to the column's type, so `19.9` equals a DECIMAL(18,2) `19.90`; floating
//! point values are compared to the decimals the expected value is written with (`33.33` matches
//! 33.3333...; a whole number means itself). Without `ordered: true` the order of rows does not
//! matter: expected rows are paired with output rows by a maximum matching.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use serde::Serialize;

use super::load_project;
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
            let hint = suggest(name, pipeline.stages.iter().map(|s| s.name.as_str()))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(StrataError::InvalidArgument {
                argument: "stage".into(),
                value: name.clone(),
                reason: format!("the pipeline has no stage of this name{hint}"),
            });
        }
        if !files.iter().any(|f| &f.stage == name) {
            return Err(StrataError::InvalidArgument {
                argument: "stage".into(),
                value: name.clone(),
                reason: format!(
                    "it has no unit tests: no file under tests/stages/ says `stage: {name}`"
                ),
            });
        }
    }
    let mut problems: Vec<Problem> = files
        .iter()
        .filter_map(|f| stage_problem(pipeline, f))
        .collect();
    // A test name is unique per stage, across files.
    for (i, f) in files.iter().enumerate() {
        for t in &f.tests {
            let earlier = files[..i]
                .iter()
                .filter(|g| g.stage == f.stage)
                .flat_map(|g| &g.tests)
                .any(|u| u.name == t.name);
            if earlier {
                problems.push(Problem::at(
                    t.name_at.clone(),
                    ProblemKind::DuplicateName {
                        what: format!("unit test of `{}`", f.stage),
                        name: t.name.clone(),
                    },
                ));
            }
        }
    }
    if !problems.is_empty() {
        return Err(StrataError::Invalid { problems });
    }
    let (_, _, schemas) = super::validated(given, overrides).await?;
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
    let settings = RunSettings::resolve(pipeline, &overrides).map_err(|e| {
        let text = crate::report::error_chain_text(&e).replace("--var", "`vars:` entry");
        format!("{}: {text}", test.vars_at.as_ref().unwrap_or(&test.at))
    })?;
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
        let zone = pipeline.source(input).and_then(|s| s.naive_timestamps);
        let batch = build_batch(&schema, rows.unwrap_or_default(), input, zone)?;
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
    super::unit_compare::compare(&schema, &batches, test)
}

fn nullable(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// The given rows as one batch of `schema`; columns a row does not name are null. `zone` is
/// the time zone of timestamps written without one (the source's `naive_timestamps`).
fn build_batch(
    schema: &SchemaRef,
    rows: &[Row],
    table: &str,
    zone: Option<chrono_tz::Tz>,
) -> std::result::Result<RecordBatch, String> {
    for row in rows {
        for cell in &row.cells {
            if schema.field_with_name(&cell.column).is_err() {
                return Err(no_column(
                    &cell.at,
                    &format!("`{table}`"),
                    &cell.column,
                    schema,
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
            typed(&values, f.data_type(), f.name(), zone)
        })
        .collect::<std::result::Result<Vec<ArrayRef>, String>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

/// Text values converted to `to` by Arrow's cast (strict: a value that does not convert is an
/// error naming its place). A decimal with more digits after the point than the column keeps is
/// refused rather than rounded; a timestamp without a zone is read in `zone` (the source's
/// `naive_timestamps`) and refused where there is none, as landed files are.
pub(super) fn typed(
    values: &[(Option<&str>, Option<&Location>)],
    to: &DataType,
    column: &str,
    zone: Option<chrono_tz::Tz>,
) -> std::result::Result<ArrayRef, String> {
    let strict = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let type_name = crate::model::types::column_type_name(to);
    let place = |at: &Option<&Location>| at.map(|l| format!("{l}: ")).unwrap_or_default();
    let mut texts: Vec<Option<String>> = Vec::with_capacity(values.len());
    for (value, at) in values {
        let Some(v) = value else {
            texts.push(None);
            continue;
        };
        let v = v.trim();
        match to {
            DataType::Decimal128(_, scale) | DataType::Decimal256(_, scale) => {
                let digits = v
                    .split_once('.')
                    .map(|(_, d)| d.trim_end_matches('0').len())
                    .unwrap_or(0);
                if digits > (*scale).max(0) as usize {
                    return Err(format!(
                        "{}`{v}` has more decimals than column `{column}` ({type_name}) keeps",
                        place(at)
                    ));
                }
            }
            DataType::Timestamp(_, Some(_)) if !has_zone(v) => {
                let Some(tz) = zone else {
                    return Err(format!(
                        "{}`{v}` has no time zone: write it with Z or an offset (`{v}+08:00`), \
                         or declare `naive_timestamps` on the source",
                        place(at)
                    ));
                };
                let local = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f")
                    .or_else(|_| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f"))
                    .map_err(|_| {
                        format!(
                            "{}`{v}` is not a timestamp (YYYY-MM-DDTHH:MM:SS)",
                            place(at)
                        )
                    })?;
                let instant = local
                    .and_local_timezone(tz)
                    .earliest()
                    .ok_or_else(|| format!("{}`{v}` does not exist in {tz}", place(at)))?;
                texts.push(Some(instant.to_rfc3339()));
                continue;
            }
            _ => {}
        }
        texts.push(Some(v.to_string()));
    }
    let text: ArrayRef = Arc::new(StringArray::from(texts.clone()));
    cast_with_options(&text, to, &strict).map_err(|_| {
        // Find the value that does not convert, to name its place.
        for (value, (_, at)) in texts.iter().zip(values) {
            let one: ArrayRef = Arc::new(StringArray::from(vec![value.clone()]));
            if let Err(e) = cast_with_options(&one, to, &strict) {
                return format!(
                    "{}`{}` is not a valid {type_name} for column `{column}`: {e}",
                    place(at),
                    value.as_deref().unwrap_or("null")
                );
            }
        }
        format!("column `{column}`: the values do not convert to {type_name}")
    })
}

/// Whether a timestamp text ends in a zone: `Z` or an offset such as `+08:00` after the time.
fn has_zone(v: &str) -> bool {
    let Some((_, time)) = v.split_once(['T', ' ']) else {
        return false;
    };
    time.ends_with(['Z', 'z'])
        || time.contains('+')
        || time.get(1..).is_some_and(|t| t.contains('-'))
}

/// "`table` has no column `x`; did you mean `y`?" for a column `schema` lacks.
pub(super) fn no_column(at: &Location, what: &str, column: &str, schema: &SchemaRef) -> String {
    let names = schema.fields().iter().map(|f| f.name().as_str());
    let hint = suggest(column, names)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default();
    format!("{at}: {what} has no column `{column}`{hint}")
}
