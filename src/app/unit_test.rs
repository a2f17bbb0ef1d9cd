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
            typed(&values, f.data_type(), f.name(), zone)
        })
        .collect::<std::result::Result<Vec<ArrayRef>, String>>()?;
    RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
}

/// Text values converted to `to` by Arrow's cast (strict: a value that does not convert is an
/// error naming its place). A decimal with more digits after the point than the column keeps is
/// refused rather than rounded; a timestamp without a zone is read in `zone` (the source's
/// `naive_timestamps`) and refused where there is none, as landed files are.
fn typed(
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
    if columns.is_empty() {
        // `expect: []` (no rows): rows produced are shown with every column.
        columns = schema.fields().iter().map(|f| f.name().clone()).collect();
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
                        Some(chrono_tz::UTC),
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
            (Cmp::Float(w), Cmp::Float(g)) => (g - w).abs() <= 0.5 * 10f64.powi(-(*digits as i32)),
            (w, g) => w == g,
        })
    };
    // Which output row each expected row takes: in order, or a maximum matching (an expected
    // row naming few columns must not take the row another one needs).
    let pairs: Vec<Option<usize>> = if test.ordered {
        (0..expected.len())
            .map(|k| (k < actual.len() && matches(&expected[k], &actual[k])).then_some(k))
            .collect()
    } else {
        let fits: Vec<Vec<usize>> = expected
            .iter()
            .map(|e| {
                (0..actual.len())
                    .filter(|&i| matches(e, &actual[i]))
                    .collect()
            })
            .collect();
        max_matching(&fits, actual.len())
    };
    let mut diff = Vec::new();
    let mut used = vec![false; actual.len()];
    for (k, found) in pairs.iter().enumerate() {
        match found {
            Some(i) => used[*i] = true,
            None => diff.push(format!(
                "- {}  ({})",
                show_expected(&test.expect[k]),
                test.expect[k].at
            )),
        }
    }
    if test.ordered && !diff.is_empty() {
        let fits: Vec<Vec<usize>> = expected
            .iter()
            .map(|e| {
                (0..actual.len())
                    .filter(|&i| matches(e, &actual[i]))
                    .collect()
            })
            .collect();
        let any_order = max_matching(&fits, actual.len());
        if expected.len() == actual.len() && any_order.iter().all(Option::is_some) {
            let order: Vec<String> = any_order
                .iter()
                .map(|i| (i.unwrap_or(0) + 1).to_string())
                .collect();
            return Ok(vec![format!(
                "every expected row is produced, but in another order (`ordered: true`): the \
                 expected rows are output rows {} in that order",
                order.join(", ")
            )]);
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

/// A maximum matching of expected rows to output rows (Kuhn's augmenting paths): `fits[k]` are
/// the output rows expected row `k` matches; the result gives each expected row its output row.
fn max_matching(fits: &[Vec<usize>], outputs: usize) -> Vec<Option<usize>> {
    fn augment(
        k: usize,
        fits: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &i in &fits[k] {
            if seen[i] {
                continue;
            }
            seen[i] = true;
            if owner[i].is_none_or(|other| augment(other, fits, seen, owner)) {
                owner[i] = Some(k);
                return true;
            }
        }
        false
    }
    let mut owner: Vec<Option<usize>> = vec![None; outputs];
    for k in 0..fits.len() {
        let mut seen = vec![false; outputs];
        augment(k, fits, &mut seen, &mut owner);
    }
    let mut out = vec![None; fits.len()];
    for (i, o) in owner.iter().enumerate() {
        if let Some(k) = o {
            out[*k] = Some(i);
        }
    }
    out
}

/// Digits after the decimal point of a written number.
/// A whole number (`1`) or an exponent form means the value itself (to 12 decimals): only
/// written decimals (`0.73`) loosen the comparison.
fn decimals(text: &str) -> usize {
    let t = text.trim();
    if t.contains(['e', 'E']) {
        return 12;
    }
    t.split_once('.').map(|(_, d)| d.len()).unwrap_or(12)
}

fn show(v: &Cmp) -> String {
    match v {
        Cmp::Null => "null".into(),
        Cmp::Float(f) => f.to_string(),
        Cmp::Text(t) if t.is_empty() => "\"\"".into(),
        Cmp::Text(t) => t.clone(),
    }
}

fn show_expected(row: &Row) -> String {
    let cells: Vec<String> = row
        .cells
        .iter()
        .map(|c| match c.value.as_deref() {
            None => format!("{}: null", c.column),
            Some("") => format!("{}: \"\"", c.column),
            Some(v) => format!("{}: {v}", c.column),
        })
        .collect();
    format!("{{{}}}", cells.join(", "))
}
