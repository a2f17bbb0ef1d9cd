//! Static validation: plan every stage against schemas, before any data is read.
//!
//! Sources contribute their declared or footer-inferred schemas; each stage's output schema is
//! taken from its plan and handed to the stages downstream, so an unknown column three stages
//! away is found without running anything. Each stage is planned, type-checked, optimized and
//! turned into a physical plan over empty tables. Errors are mapped to `file:line:col` inside the
//! stage's SQL file: from DataFusion's span diagnostics when present, else by finding the
//! offending identifier in the text.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use super::{Params, sources, stage_sql_options};
use crate::diag::{Location, Problem, ProblemKind};
use crate::model::{Materialization, Pipeline, Stage};
use crate::plan::Plan;

/// Output schemas of every source (table schema) and stage, by table name.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    pub tables: BTreeMap<String, SchemaRef>,
}

/// Table schemas of sources by name, or why a source's schema is unknown.
pub type SourceSchemas = BTreeMap<String, Result<SchemaRef, String>>;

/// Schemas for validation without a run: declared columns where given, else the union of the
/// footers of the files landed on or before `ds` (see [`sources::resolve`]).
pub async fn static_source_schemas(
    pipeline: &Pipeline,
    names: &[&str],
    ds: chrono::NaiveDate,
) -> SourceSchemas {
    let mut out = SourceSchemas::new();
    for name in names {
        let Some(source) = pipeline.source(name) else {
            continue;
        };
        let schema = match sources::declared_schema(source) {
            Some(file) => Ok(sources::table_schema(source, &file)),
            None => sources::resolve(pipeline, source, Some(ds))
                .await
                .map(|r| r.table_schema.clone())
                .map_err(|e| crate::report::error_chain_text(&e)),
        };
        out.insert(source.name.clone(), schema);
    }
    out
}

/// Plan every stage of `plan` against schemas. Returns all problems found.
pub async fn validate(
    ctx: &SessionContext,
    pipeline: &Pipeline,
    plan: &Plan,
    params: &Params,
    source_schemas: &SourceSchemas,
) -> Result<Schemas, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut schemas = Schemas::default();
    let mut failed: HashSet<String> = HashSet::new();
    let needed: HashSet<&str> = super::preflight::sources_of(plan).into_iter().collect();
    for source in pipeline
        .sources
        .iter()
        .filter(|s| needed.contains(s.name.as_str()))
    {
        let schema = match source_schemas.get(&source.name) {
            Some(Ok(s)) => s.clone(),
            other => {
                let message = match other {
                    Some(Err(m)) => m.clone(),
                    _ => "its schema was not resolved".to_string(),
                };
                problems.push(Problem::at(
                    source.location_at.clone(),
                    ProblemKind::SourceSchema {
                        source_name: source.name.clone(),
                        message,
                    },
                ));
                failed.insert(source.name.clone());
                continue;
            }
        };
        register_empty(ctx, &source.name, schema.clone());
        schemas.tables.insert(source.name.clone(), schema);
    }
    for planned in &plan.stages {
        if planned.inputs.iter().any(|i| failed.contains(&i.table)) {
            // Its input already has a problem; planning it would only repeat that.
            failed.insert(planned.name.clone());
            continue;
        }
        let stage = &pipeline.stages[planned.index];
        match plan_stage(ctx, stage, params).await {
            Ok(features) => {
                let schema = match model_output(stage, &features) {
                    Ok(s) => s,
                    Err(p) => {
                        problems.push(*p);
                        failed.insert(stage.name.clone());
                        continue;
                    }
                };
                if let Some(p) =
                    partition_problem(stage, &schema).or_else(|| contract_problem(stage, &schema))
                {
                    problems.push(p);
                    failed.insert(stage.name.clone());
                    continue;
                }
                register_empty(ctx, &stage.name, schema.clone());
                schemas.tables.insert(stage.name.clone(), schema);
            }
            Err(e) => {
                problems.push(locate_error(stage, &e));
                failed.insert(stage.name.clone());
            }
        }
    }
    if problems.is_empty() {
        Ok(schemas)
    } else {
        Err(problems)
    }
}

/// Register `name` as an empty in-memory table with `schema` (replacing any table of that name).
pub fn register_empty(ctx: &SessionContext, name: &str, schema: SchemaRef) {
    let _ = ctx.deregister_table(name);
    // An empty in-memory table with the right schema: planning needs nothing more.
    if let Ok(table) = MemTable::try_new(schema, vec![vec![]]) {
        let _ = ctx.register_table(name, Arc::new(table));
    }
}

/// Plan one stage fully (logical, typed, optimized, physical) and return its output schema.
pub async fn plan_stage(
    ctx: &SessionContext,
    stage: &Stage,
    params: &Params,
) -> Result<SchemaRef, DataFusionError> {
    let df = ctx
        .sql_with_options(&stage.sql, stage_sql_options())
        .await?
        .with_param_values(params.to_param_values())?;
    super::portable::check(ctx, df.logical_plan())?;
    // A model stage's features keep their types: the model reads them as its query returns them.
    let df = if stage.model.is_none() {
        super::stage::plain_strings(df)?
    } else {
        df
    };
    // The physical plan's schema is what will be written; the logical one can disagree when a
    // parameter's type was inferred before its value was bound.
    let physical = df.create_physical_plan().await?;
    Ok(physical.schema())
}

/// A model stage's output schema from its features query's (`features`); other stages' output
/// is the query's. A mismatch between the model settings and the query is located at the
/// stage's `model` section.
pub fn model_output(stage: &Stage, features: &SchemaRef) -> Result<SchemaRef, Box<Problem>> {
    let Some(spec) = &stage.model else {
        return Ok(features.clone());
    };
    super::model::output_schema(stage, spec, features).map_err(|message| {
        Box::new(Problem::at(
            spec.at.clone(),
            ProblemKind::Planning {
                message: format!("model stage `{}`: {message}", stage.name),
            },
        ))
    })
}

/// Compare the planned output with the stage's declared `columns`.
fn contract_problem(stage: &Stage, schema: &SchemaRef) -> Option<Problem> {
    let declared = stage.columns.as_ref()?;
    let mut diffs = Vec::new();
    for (name, want) in declared {
        match schema.field_with_name(name) {
            Err(_) => diffs.push(format!("missing column `{name}`")),
            Ok(f) if !same_type(want, f.data_type()) => diffs.push(format!(
                "column `{name}` is {}, declared {want}",
                f.data_type()
            )),
            Ok(_) => {}
        }
    }
    for f in schema.fields() {
        if !declared.iter().any(|(n, _)| n == f.name()) {
            diffs.push(format!("unexpected column `{}`", f.name()));
        }
    }
    (!diffs.is_empty()).then(|| {
        Problem::at(
            stage.at.clone(),
            ProblemKind::Contract {
                stage: stage.name.clone(),
                differences: diffs,
            },
        )
    })
}

/// Types that are the same for a reader: string encodings are interchangeable, all else exact.
fn same_type(want: &DataType, found: &DataType) -> bool {
    let string =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    want == found || (string(want) && string(found))
}

fn partition_problem(stage: &Stage, schema: &SchemaRef) -> Option<Problem> {
    if stage.materialization != Materialization::Partitioned {
        return None;
    }
    let found = match schema.field_with_name("ds") {
        Ok(f) if f.data_type() == &DataType::Date32 => return None,
        Ok(f) => Some(f.data_type().to_string()),
        Err(_) => None,
    };
    Some(Problem::at(
        Location::file_start(&stage.sql_display),
        ProblemKind::PartitionColumn {
            stage: stage.name.clone(),
            found,
        },
    ))
}

/// Turn a planning error into a located problem inside the stage's SQL file.
pub fn locate_error(stage: &Stage, e: &DataFusionError) -> Problem {
    let root = e.find_root();
    let (message, span_pos) = match e.diagnostic() {
        Some(d) => (
            d.message.clone(),
            d.span
                .map(|s| (s.start.line as usize, s.start.column as usize)),
        ),
        None => (clean_message(root), None),
    };
    let (line, column) = span_pos
        .filter(|(l, c)| *l > 0 && *c > 0)
        .or_else(|| guess_position(&stage.sql, &clean_message(root)))
        .unwrap_or((1, 1));
    let mut message = message;
    let full = clean_message(root);
    if full.contains("Valid fields are") && !message.contains("Valid fields are") {
        message = full;
    }
    Problem::at(
        Location::new(&stage.sql_display, line, column),
        ProblemKind::Planning { message },
    )
}

/// DataFusion's message without its category prefixes and backtrace.
pub fn clean_message(e: &DataFusionError) -> String {
    let mut m = e.strip_backtrace();
    for prefix in [
        "Error during planning: ",
        "Schema error: ",
        "SQL error: ",
        "Optimizer rule '",
        "Execution error: ",
        "This feature is not implemented: ",
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            m = rest.to_string();
        }
    }
    m.lines().next().unwrap_or_default().trim().to_string()
}

/// The whole message of a runtime error on one line: DataFusion's `context` wrappers put the
/// root cause (for example "Resources exhausted: Failed to allocate ...") on later lines, and
/// that is the part an operator needs.
pub fn full_message(e: &DataFusionError) -> String {
    let text = e.strip_backtrace();
    let mut out = String::new();
    let mut last = "";
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line == "caused by" {
            continue;
        }
        let mut line = line;
        for prefix in ["Execution error: ", "External error: ", "Arrow error: "] {
            line = line.strip_prefix(prefix).unwrap_or(line);
        }
        if line == last {
            continue;
        }
        if !out.is_empty() {
            // A line that ends in punctuation already separates itself from the next.
            out.push_str(if out.ends_with([':', ',', '.']) {
                " "
            } else {
                ": "
            });
        }
        out.push_str(line);
        last = line;
    }
    out
}

/// Find the most likely place of an error by searching the SQL for an identifier the message
/// quotes (`No field named amout`, `table 'x' not found`, `$name`).
fn guess_position(sql: &str, message: &str) -> Option<(usize, usize)> {
    let mut candidates: Vec<String> = Vec::new();
    for q in ['\'', '"', '`'] {
        let parts: Vec<&str> = message.split(q).collect();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 1 && !p.is_empty() {
                candidates.push(p.to_string());
            }
        }
    }
    if let Some(rest) = message.split("No field named ").nth(1) {
        candidates.insert(0, rest.split(['.', ' ']).next().unwrap_or("").to_string());
    }
    for word in message.split_whitespace() {
        if let Some(name) = word.strip_prefix('$') {
            let name: String = name
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            candidates.insert(0, format!("${name}"));
        }
    }
    for c in candidates {
        let ident = c.rsplit('.').next().unwrap_or(&c).to_string();
        if ident.is_empty() {
            continue;
        }
        if let Some(pos) = find_word(sql, &ident) {
            return Some(pos);
        }
    }
    None
}

/// 1-based line and column of the first whole-word, case-insensitive occurrence of `word`.
fn find_word(sql: &str, word: &str) -> Option<(usize, usize)> {
    let lower_sql = sql.to_lowercase();
    let lower_word = word.to_lowercase();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(off) = lower_sql[from..].find(&lower_word) {
        let start = from + off;
        let end = start + lower_word.len();
        let before_ok = lower_sql[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c));
        let after_ok = lower_sql[end..].chars().next().is_none_or(|c| !is_ident(c));
        if before_ok && after_ok {
            let line = lower_sql[..start].matches('\n').count() + 1;
            let line_start = lower_sql[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let column = lower_sql[line_start..start].chars().count() + 1;
            return Some((line, column));
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_message_keeps_the_root_cause_on_one_line() {
        let e = DataFusionError::ResourcesExhausted("Failed to allocate 5 MB for Sort".into())
            .context("Not enough memory to continue external sort.")
            .context("stage failed");
        assert_eq!(
            full_message(&e),
            "stage failed: Not enough memory to continue external sort. \
             Resources exhausted: Failed to allocate 5 MB for Sort"
        );
        let plain = DataFusionError::Execution("boom".into());
        assert_eq!(full_message(&plain), "boom");
    }

    #[test]
    fn finds_whole_words() {
        let sql = "SELECT amount_cny,\n  amount FROM t";
        assert_eq!(find_word(sql, "amount"), Some((2, 3)));
        assert_eq!(find_word(sql, "AMOUNT_CNY"), Some((1, 8)));
        assert_eq!(find_word(sql, "nothing"), None);
    }
}
