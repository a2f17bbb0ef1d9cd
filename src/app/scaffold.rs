//! Scaffolding: `strata init DIR` (a runnable project) and `strata new stage` (a SQL file plus
//! its pipeline entry).
//!
//! The project `init` writes is small and complete: a pipeline with one source and one stage per
//! layer, checks, a two-day sample of landed orders (Parquet, an order updated on the second day,
//! one paid just after midnight business time) and a unit test, so `strata validate`, `strata
//! run --ds 2026-11-21` and `strata test` work in it at once. The templates are files under
//! `src/app/scaffold/`.
//!
//! `new stage` edits the pipeline file as text (so its comments and layout stay), inserting the
//! entry at the end of the `stages:` list, then loads the project again; if it no longer loads,
//! both changes are undone and the problems reported.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Decimal128Array, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;

use super::load_project;
use crate::diag::suggest;
use crate::error::{Result, StrataError};
use crate::model::Layer;

const PIPELINE: &str = include_str!("scaffold/pipeline.yaml");
const FILES: [(&str, &str); 4] = [
    (
        "sql/dwd/dwd_order.sql",
        include_str!("scaffold/dwd_order.sql"),
    ),
    (
        "sql/dws/dws_customer_sales.sql",
        include_str!("scaffold/dws_customer_sales.sql"),
    ),
    (
        "sql/ads/ads_top_customers.sql",
        include_str!("scaffold/ads_top_customers.sql"),
    ),
    (
        "tests/stages/dws_customer_sales.yaml",
        include_str!("scaffold/dws_customer_sales.test.yaml"),
    ),
];

/// What `init` or `new stage` wrote, relative to the project directory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scaffolded {
    pub dir: PathBuf,
    pub written: Vec<PathBuf>,
}

fn io(operation: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StrataError {
    let path = path.to_path_buf();
    move |source| StrataError::Io {
        operation,
        path,
        source,
    }
}

fn write(dir: &Path, rel: &str, text: &[u8], written: &mut Vec<PathBuf>) -> Result<()> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io("create directory", parent))?;
    }
    std::fs::write(&path, text).map_err(io("write", &path))?;
    written.push(PathBuf::from(rel));
    Ok(())
}

/// `strata init DIR`: create a runnable project in `dir` (created; refused when not empty).
/// The pipeline is named after the directory (lower-case letters, digits and `_`).
///
/// # Errors
/// `InvalidArgument` when `dir` exists and is not empty; `Io` when a file cannot be written.
pub fn init(dir: &Path) -> Result<Scaffolded> {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(StrataError::InvalidArgument {
            argument: "directory".into(),
            value: dir.display().to_string(),
            reason: "it exists and is not empty; give a new or empty directory".into(),
        });
    }
    let name = project_name(dir);
    let mut written = Vec::new();
    let pipeline_file = format!("pipelines/{name}.yaml");
    write(
        dir,
        &pipeline_file,
        PIPELINE.replace("{name}", &name).as_bytes(),
        &mut written,
    )?;
    for (rel, text) in FILES {
        write(dir, rel, text.as_bytes(), &mut written)?;
    }
    write(dir, ".gitignore", b"warehouse/\ntarget/\n", &mut written)?;
    for (ds, rows) in SAMPLE {
        let rel = format!("data/ods/ods_order/ds={ds}/part-0.parquet");
        write(dir, &rel, &sample_parquet(rows)?, &mut written)?;
    }
    Ok(Scaffolded {
        dir: dir.to_path_buf(),
        written,
    })
}

fn project_name(dir: &Path) -> String {
    let base = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') {
            name.push('_');
        }
    }
    let mut name = name.trim_matches('_').to_string();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name = format!("project_{name}");
    }
    name
}

/// The sample's landed orders by landing day: id, customer, amount in cents, status, order time,
/// updated at (UTC). O2 is refunded on the second day; O4 is paid at 00:30 on 2026-11-21 in
/// Shanghai (16:30 UTC the day before).
type SampleRow = (
    &'static str,
    &'static str,
    i128,
    &'static str,
    &'static str,
    &'static str,
);
const SAMPLE: [(&str, &[SampleRow]); 2] = [
    (
        "2026-11-20",
        &[
            (
                "O1",
                "C1",
                10000,
                "paid",
                "2026-11-20T02:00:00Z",
                "2026-11-20T02:00:00Z",
            ),
            (
                "O2",
                "C2",
                5000,
                "paid",
                "2026-11-20T03:00:00Z",
                "2026-11-20T03:00:00Z",
            ),
            (
                "O3",
                "C1",
                3000,
                "cancelled",
                "2026-11-20T04:00:00Z",
                "2026-11-20T05:00:00Z",
            ),
        ],
    ),
    (
        "2026-11-21",
        &[
            (
                "O2",
                "C2",
                5000,
                "refunded",
                "2026-11-20T03:00:00Z",
                "2026-11-21T01:00:00Z",
            ),
            (
                "O4",
                "C3",
                8000,
                "paid",
                "2026-11-20T16:30:00Z",
                "2026-11-20T16:30:00Z",
            ),
        ],
    ),
];

fn sample_parquet(rows: &[SampleRow]) -> Result<Vec<u8>> {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("order_id", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("amount", DataType::Decimal128(18, 2), false),
        Field::new("status", DataType::Utf8, false),
        Field::new("order_time", ts.clone(), false),
        Field::new("updated_at", ts, false),
    ]));
    let micros = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp_micros())
            .unwrap_or_default()
    };
    let text = |f: fn(&SampleRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let time = |f: fn(&SampleRow) -> &str| -> ArrayRef {
        let v: Vec<i64> = rows.iter().map(|r| micros(f(r))).collect();
        Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
    };
    let engine = |source| StrataError::Engine { source };
    let amounts = Decimal128Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())
        .with_precision_and_scale(18, 2)
        .map_err(|e| engine(e.into()))?;
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            text(|r| r.0),
            text(|r| r.1),
            Arc::new(amounts),
            text(|r| r.3),
            time(|r| r.4),
            time(|r| r.5),
        ],
    )
    .map_err(|e| engine(e.into()))?;
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, None).map_err(|e| engine(e.into()))?;
    writer.write(&batch).map_err(|e| engine(e.into()))?;
    writer.close().map_err(|e| engine(e.into()))?;
    Ok(out)
}

/// `strata new stage NAME --layer L [--from TABLE]`: write `sql/<layer>/<name>.sql` (a query
/// over `from`, or a one-column starting point) and add its entry to the pipeline's stages.
///
/// # Errors
/// `InvalidArgument` for a name already taken, a file already there, an unknown `from` (with
/// the closest name) or one in a higher layer; the project's problems if it no longer loads
/// (the changes are undone).
pub async fn new_stage(
    given: Option<&Path>,
    name: &str,
    layer: Layer,
    from: Option<&str>,
    partitioned: bool,
) -> Result<Scaffolded> {
    let project = load_project(given)?;
    let pipeline = &project.pipeline;
    let bad = |argument: &str, value: &str, reason: String| StrataError::InvalidArgument {
        argument: argument.into(),
        value: value.into(),
        reason,
    };
    if layer == Layer::Ods {
        return Err(bad(
            "--layer",
            "ods",
            "ODS tables are sources, not stages; use dwd, dws or ads".into(),
        ));
    }
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(bad(
            "stage name",
            name,
            "use lower-case letters, digits and _, starting with a letter".into(),
        ));
    }
    let keyword = datafusion::sql::sqlparser::keywords::ALL_KEYWORDS
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name));
    if keyword || name == "this" {
        return Err(bad(
            "stage name",
            name,
            "it is an SQL keyword (or `this`, the table checks read): a query would have to quote it".into(),
        ));
    }
    if pipeline.stage(name).is_some() || pipeline.source(name).is_some() {
        return Err(bad(
            "stage name",
            name,
            "a source or stage of this name exists".into(),
        ));
    }
    let query = match from {
        Some(table) => {
            let found = pipeline
                .source(table)
                .map(|_| Layer::Ods)
                .or_else(|| pipeline.stage(table).map(|s| s.layer));
            match found {
                None => {
                    let names = pipeline.sources.iter().map(|s| s.name.as_str());
                    let names = names.chain(pipeline.stages.iter().map(|s| s.name.as_str()));
                    let hint = suggest(table, names)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    return Err(bad(
                        "--from",
                        table,
                        format!("no source or stage has this name{hint}"),
                    ));
                }
                Some(l) if l > layer => {
                    return Err(bad(
                        "--from",
                        table,
                        format!(
                            "it is in layer {l}, above {layer}: a stage reads only its own layer or lower ones"
                        ),
                    ));
                }
                Some(_) if !partitioned => format!("SELECT *\nFROM {table}\n"),
                Some(_) => {
                    // A partitioned stage outputs the run's `ds`: the input's own partition
                    // when it has a ds column, else the run date beside its columns.
                    let has_ds = pipeline.source(table).is_some_and(|s| {
                        s.partitions.iter().any(|(n, _)| n == "ds")
                            || s.columns.iter().flatten().any(|(n, _)| n == "ds")
                    }) || pipeline.stage(table).is_some_and(|s| {
                        s.materialization == crate::model::Materialization::Partitioned
                            || s.columns.iter().flatten().any(|(n, _)| n == "ds")
                    });
                    if has_ds {
                        format!("SELECT *\nFROM {table}\nWHERE ds = $ds\n")
                    } else {
                        format!("SELECT $ds AS ds, *\nFROM {table}\n")
                    }
                }
            }
        }
        None => "SELECT $ds AS ds\n".to_string(),
    };
    let rel = format!("sql/{layer}/{name}.sql");
    let sql_path = pipeline.project_dir.join(&rel);
    if sql_path.exists() {
        return Err(bad("stage name", name, format!("{rel} exists")));
    }
    let original = std::fs::read_to_string(&pipeline.file).map_err(io("read", &pipeline.file))?;
    // An empty flow list (`stages: []`) becomes a block list; a non-empty one is refused.
    let original_text = original.clone();
    let original = original
        .lines()
        .map(|l| match stages_key(l) {
            Some(rest) if rest.trim() == "[]" => "stages:",
            _ => l,
        })
        .collect::<Vec<_>>()
        .join(if original.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        })
        + if original.ends_with('\n') {
            if original.contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            }
        } else {
            ""
        };
    let flow = original.lines().any(|l| {
        stages_key(l)
            .is_some_and(|rest| !rest.trim().is_empty() && !rest.trim_start().starts_with('#'))
    });
    if flow {
        return Err(bad(
            "pipeline file",
            &pipeline.file.display().to_string(),
            "its `stages:` is a flow-style list ([...]); write it as a block list (`- name: ...` lines) to add a stage".into(),
        ));
    }
    let mut entry = format!("- name: {name}\n  layer: {layer}\n  sql: {rel}\n");
    if partitioned {
        entry.push_str("  materialization: partitioned\n");
    }
    let updated = insert_stage(&original, &entry);
    let mut written = Vec::new();
    let header =
        format!("-- {name}: say what one row is (its grain) and where its columns come from.\n");
    write(
        &pipeline.project_dir,
        &rel,
        (header + &query).as_bytes(),
        &mut written,
    )?;
    std::fs::write(&pipeline.file, &updated).map_err(io("write", &pipeline.file))?;
    written.push(crate::diag::display_path(
        &pipeline.file,
        &pipeline.project_dir,
    ));
    // The project must still load, hold the new stage, and validate.
    let checked = match load_project(Some(&pipeline.file)) {
        Ok(p) if p.pipeline.stage(name).is_some() => {
            super::validate(Some(&pipeline.file), &crate::settings::Overrides::default())
                .await
                .map(|_| ())
        }
        Ok(_) => Err(bad(
            "pipeline file",
            &pipeline.file.display().to_string(),
            "the new entry did not become part of its `stages:` list (an unusual layout); add it by hand".into(),
        )),
        Err(e) => Err(e),
    };
    if let Err(e) = checked {
        let _ = std::fs::write(&pipeline.file, &original_text);
        let _ = std::fs::remove_file(&sql_path);
        return Err(e);
    }
    Ok(Scaffolded {
        dir: pipeline.project_dir.clone(),
        written,
    })
}

/// `text` with `entry` (a list item at indentation 0) appended to the top-level `stages:` list,
/// indented like the list's items; a `stages:` key is added when there is none.
pub fn insert_stage(text: &str, entry: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let top_key = |l: &str| {
        l.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            || l.starts_with("...")
            || l.starts_with("---")
    };
    let Some(start) = lines.iter().position(|l| stages_key(l).is_some()) else {
        let sep = if text.ends_with('\n') || text.is_empty() {
            ""
        } else {
            "\n"
        };
        return format!("{text}{sep}stages:\n{}", indent(entry, "  ")).replace('\n', eol);
    };
    let mut end = lines[start + 1..]
        .iter()
        .position(|l| top_key(l))
        .map(|i| start + 1 + i)
        .unwrap_or(lines.len());
    // Comments and blank lines just above the next key belong to that key.
    while end > start + 1 && (lines[end - 1].trim().is_empty() || lines[end - 1].starts_with('#')) {
        end -= 1;
    }
    let item_indent = lines[start + 1..end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map(|l| &l[..l.len() - l.trim_start().len()])
        .unwrap_or("  ");
    let mut out: Vec<String> = lines[..end].iter().map(|l| l.to_string()).collect();
    out.extend(indent(entry, item_indent).lines().map(str::to_string));
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    // The file's own line ends (CRLF stays CRLF).
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut joined = out.join(eol);
    joined.push_str(eol);
    joined
}

/// What follows the top-level `stages:` key on its line (the key may be quoted), or `None`.
fn stages_key(line: &str) -> Option<&str> {
    ["stages:", "\"stages\":", "'stages':"]
        .iter()
        .find_map(|k| line.strip_prefix(k))
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}
