//! Pipeline file -> [`Pipeline`], collecting every problem with its file, line and column.
//!
//! Strictness follows the pipeline format reference (`pipelines/reference.yaml`): unknown keys are
//! errors (with the closest valid key as a hint), values must have their documented types,
//! required keys must be present, names must be unique, and literal secrets are refused. The
//! loader never stops at the first problem.
//!
//! Relative paths in a pipeline file are resolved against the project directory: the parent of
//! the directory holding the file when that directory is named `pipelines`, else the file's own
//! directory.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::reader::{Cx, Map};
use super::sections::{
    check_secrets, read_engine, read_intents, read_pii, read_vars, read_warehouse,
};
use super::source_entry::read_source;
use super::types::parse_column_type;
use super::yaml::{self, Node, Value};
use super::{Layer, Materialization, Pipeline, Source, Stage, WarehouseConfig};
use crate::diag::{Problem, ProblemKind, display_path};
use crate::error::StrataError;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "warehouse",
    "sources_root",
    "timezone",
    "engine",
    "sources",
    "vars",
    "stages",
    "intents",
    "pii",
    "identity",
];
const STAGE_KEYS: &[&str] = &[
    "name",
    "layer",
    "sql",
    "materialization",
    "depends_on",
    "description",
    "tags",
    "checks",
    "summary",
    "columns",
    "kind",
    "model",
];

/// The project directory for a pipeline file (see the module docs).
pub fn project_dir(pipeline_file: &Path) -> PathBuf {
    let dir = pipeline_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.file_name().is_some_and(|n| n == "pipelines") {
        dir.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// Load a pipeline file and the SQL files it names.
pub fn load(path: &Path) -> Result<Pipeline, StrataError> {
    let loaded = load_partial(path)?;
    match loaded.pipeline {
        Some(p) if loaded.problems.is_empty() => Ok(p),
        _ => Err(StrataError::Invalid {
            problems: loaded.problems,
        }),
    }
}

/// A pipeline as far as it could be read, with the problems found. Stages and sources with
/// problems are left out of `pipeline`; `broken` names the ones whose name was readable, so
/// later checks do not report them again as unknown.
#[derive(Debug)]
pub struct Loaded {
    pub pipeline: Option<Pipeline>,
    pub problems: Vec<Problem>,
    pub broken: Vec<String>,
}

/// Like [`load`], but returns what could be read along with every problem.
pub fn load_partial(path: &Path) -> Result<Loaded, StrataError> {
    let text = std::fs::read_to_string(path).map_err(|source| StrataError::ReadPipeline {
        path: path.to_path_buf(),
        source,
    })?;
    let project = project_dir(path);
    Ok(parse_partial(&text, path, &project, &|p| {
        std::fs::read_to_string(p)
    }))
}

/// Parse pipeline `text` that came from `file`; `read_sql` reads stage SQL files (a closure so
/// unit tests need no files).
pub fn parse(
    text: &str,
    file: &Path,
    project_dir: &Path,
    read_sql: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<Pipeline, StrataError> {
    let loaded = parse_partial(text, file, project_dir, read_sql);
    match loaded.pipeline {
        Some(p) if loaded.problems.is_empty() => Ok(p),
        _ => Err(StrataError::Invalid {
            problems: loaded.problems,
        }),
    }
}

/// Parse as much as possible, collecting every problem.
pub fn parse_partial(
    text: &str,
    file: &Path,
    project_dir: &Path,
    read_sql: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Loaded {
    let mut cx = Cx {
        file: display_path(file, project_dir),
        problems: Vec::new(),
        broken: Vec::new(),
    };
    let root = match yaml::parse(text) {
        Ok(node) => node,
        Err(e) => {
            cx.problem(
                e.line,
                e.column,
                ProblemKind::YamlSyntax { message: e.message },
            );
            return Loaded {
                pipeline: None,
                problems: cx.problems,
                broken: cx.broken,
            };
        }
    };
    check_secrets(&mut cx, &root);
    let pipeline = read_pipeline(&mut cx, &root, file, project_dir, read_sql);
    Loaded {
        pipeline,
        problems: cx.problems,
        broken: cx.broken,
    }
}

fn read_pipeline(
    cx: &mut Cx,
    root: &Node,
    file: &Path,
    project_dir: &Path,
    read_sql: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Option<Pipeline> {
    let top = cx.map(root, "pipeline", "the pipeline file", TOP_KEYS)?;
    let name = top.required(cx, "name").and_then(|n| cx.string("name", n));
    let description = top.opt_string(cx, "description");
    let warehouse = read_warehouse(cx, top.get("warehouse"));
    let timezone = match top.get("timezone") {
        None => Some(chrono_tz::Asia::Shanghai),
        Some(n) => cx.string("timezone", n).and_then(|tz| match tz.parse() {
            Ok(tz) => Some(tz),
            Err(_) => {
                cx.at(
                    n,
                    ProblemKind::InvalidValue {
                        key: "timezone".into(),
                        value: tz,
                        reason: "not an IANA time zone name such as Asia/Shanghai".into(),
                    },
                );
                None
            }
        }),
    };
    let engine = read_engine(cx, top.get("engine"));
    let sources_root = top
        .opt_string(cx, "sources_root")
        .unwrap_or_else(|| ".".to_string());
    let sources = read_list(cx, top.get("sources"), "sources", read_source);
    let vars = read_vars(cx, top.get("vars"));
    let stages = read_list(cx, top.get("stages"), "stages", |cx, node| {
        read_stage(cx, node, project_dir, read_sql)
    });
    let intents = read_intents(cx, top.get("intents"));
    let pii = read_pii(cx, top.get("pii"));
    let identity = super::identity::read_identity(cx, top.get("identity"));
    check_unique_names(cx, &sources, &stages);
    for source in &sources {
        if let Some(p) = super::confine::check(
            "location",
            &source.location,
            &sources_root,
            project_dir,
            &source.location_at,
        ) {
            cx.problems.push(p);
        }
    }
    // Fall back to defaults where a top-level value had a problem (already reported), so the
    // stages can still be checked.
    Some(Pipeline {
        name: name.unwrap_or_default(),
        description,
        file: file.to_path_buf(),
        project_dir: project_dir.to_path_buf(),
        warehouse: warehouse.unwrap_or_else(|| WarehouseConfig {
            root: "./warehouse".into(),
            keep_releases: 3,
        }),
        sources_root,
        timezone: timezone.unwrap_or(chrono_tz::Asia::Shanghai),
        engine: engine.unwrap_or_default(),
        sources,
        vars,
        stages,
        intents: intents.unwrap_or_default(),
        pii: pii.unwrap_or_default(),
        identity: identity.unwrap_or_default(),
    })
}

/// Read a list whose items are built by `item`; problems inside items are collected.
fn read_list<T>(
    cx: &mut Cx,
    node: Option<&Node>,
    key: &str,
    mut item: impl FnMut(&mut Cx, &Node) -> Option<T>,
) -> Vec<T> {
    let Some(node) = node else { return Vec::new() };
    match &node.value {
        Value::Seq(items) => items.iter().filter_map(|n| item(cx, n)).collect(),
        Value::Null => Vec::new(),
        _ => {
            cx.wrong_type(key, node, "a list");
            Vec::new()
        }
    }
}

pub(super) fn name_of(cx: &mut Cx, map: &Map<'_>) -> Option<String> {
    let node = map.required(cx, "name")?;
    let name = cx.string("name", node)?;
    let valid = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        cx.at(
            node,
            ProblemKind::InvalidValue {
                key: "name".into(),
                value: name,
                reason: "names are lower-case letters, digits and `_`, starting with a letter"
                    .into(),
            },
        );
        return None;
    }
    Some(name)
}

/// A mapping of column name to type name, in order.
/// A mapping of column name to type (`customer_id: string`), or to a type with a description
/// (`customer_id: {type: string, description: "..."}`) where `docs` collects descriptions.
pub(super) fn read_columns(
    cx: &mut Cx,
    key: &str,
    node: &Node,
    mut docs: Option<&mut Vec<(String, String)>>,
) -> Option<Vec<(String, datafusion::arrow::datatypes::DataType)>> {
    let Value::Map(entries) = &node.value else {
        cx.wrong_type(key, node, "a mapping of column name to type");
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let (text, at) = match (&v.value, docs.as_deref_mut()) {
            (Value::Map(_), Some(docs)) => {
                let map = cx.map(v, &k.name, "a column", &["type", "description"])?;
                if let Some(d) = map.opt_string(cx, "description") {
                    docs.push((k.name.clone(), d));
                }
                let Some(t) = map.required(cx, "type") else {
                    ok = false;
                    continue;
                };
                (cx.string("type", t), t)
            }
            _ => (cx.string(&k.name, v), v),
        };
        let Some(text) = text else {
            ok = false;
            continue;
        };
        match parse_column_type(&text) {
            Ok(dt) => out.push((k.name.clone(), dt)),
            Err(reason) => {
                ok = false;
                cx.at(
                    at,
                    ProblemKind::InvalidValue {
                        key: k.name.clone(),
                        value: text,
                        reason,
                    },
                );
            }
        }
    }
    ok.then_some(out)
}

fn read_stage(
    cx: &mut Cx,
    node: &Node,
    project_dir: &Path,
    read_sql: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Option<Stage> {
    let map = cx.map(node, "stages[]", "a stage", STAGE_KEYS)?;
    let name = name_of(cx, &map);
    let layer = map.required(cx, "layer").and_then(|n| {
        let text = cx.string("layer", n)?;
        match Layer::parse(&text) {
            Some(Layer::Ods) | None => {
                cx.at(
                    n,
                    ProblemKind::InvalidValue {
                        key: "layer".into(),
                        value: text,
                        reason: "a stage layer is one of dwd, dws, ads (ods holds sources)".into(),
                    },
                );
                None
            }
            Some(layer) => Some(layer),
        }
    });
    let materialization = match map.get("materialization") {
        None => Some(Materialization::Table),
        Some(n) => cx
            .string("materialization", n)
            .and_then(|m| match m.as_str() {
                "table" => Some(Materialization::Table),
                "partitioned" => Some(Materialization::Partitioned),
                _ => {
                    cx.at(
                        n,
                        ProblemKind::InvalidValue {
                            key: "materialization".into(),
                            value: m,
                            reason: "expected `table` or `partitioned`".into(),
                        },
                    );
                    None
                }
            }),
    };
    let sql_node = map.required(cx, "sql");
    let sql = sql_node.and_then(|n| {
        let rel = cx.string("sql", n)?;
        let at = cx.loc(n.line, n.column);
        if let Some(p) = super::confine::check("sql", &rel, ".", project_dir, &at) {
            cx.problems.push(p);
            return None;
        }
        let path = project_dir.join(&rel);
        match read_sql(&path) {
            Ok(text) => Some((path, PathBuf::from(rel), text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                cx.at(
                    n,
                    ProblemKind::MissingFile {
                        what: "SQL file".into(),
                        path: PathBuf::from(rel),
                    },
                );
                None
            }
            Err(e) => {
                cx.at(
                    n,
                    ProblemKind::UnreadableFile {
                        path: PathBuf::from(rel),
                        reason: e.to_string(),
                    },
                );
                None
            }
        }
    });
    let depends_on = map
        .get("depends_on")
        .map(|n| cx.strings("depends_on", n))
        .unwrap_or_default();
    let tags = map
        .get("tags")
        .map(|n| cx.strings("tags", n).into_iter().map(|(t, _)| t).collect())
        .unwrap_or_default();
    let description = map.opt_string(cx, "description");
    let checks = match map.get("checks") {
        Some(n) => super::checks::read_checks(cx, n),
        None => Some(Vec::new()),
    };
    let summary = map.opt_string(cx, "summary");
    let model = read_kind(cx, &map);
    let mut column_docs = Vec::new();
    let columns = match map.get("columns") {
        Some(n) => read_columns(cx, "columns", n, Some(&mut column_docs)).map(Some),
        None => Some(None),
    };
    let complete = layer.is_some()
        && materialization.is_some()
        && sql.is_some()
        && checks.is_some()
        && columns.is_some()
        && model.is_some();
    if let (Some(n), false) = (&name, complete) {
        cx.broken.push(n.clone());
    }
    let (sql_path, sql_display, sql) = sql?;
    Some(Stage {
        name: name?,
        layer: layer?,
        sql_path,
        sql_display,
        sql,
        materialization: materialization?,
        depends_on,
        description,
        tags,
        checks: checks?,
        summary,
        columns: columns?,
        column_docs,
        model: model?,
        at: cx.loc(node.line, node.column),
    })
}

/// `kind: sql` (the default) or `kind: model` with its `model` section. `Some(None)` for a SQL
/// stage; `None` when there was a problem (reported).
fn read_kind(cx: &mut Cx, map: &Map<'_>) -> Option<Option<super::ModelSpec>> {
    let kind = match map.get("kind") {
        None => "sql".to_string(),
        Some(n) => {
            let k = cx.string("kind", n)?;
            if k != "sql" && k != "model" {
                cx.at(
                    n,
                    ProblemKind::InvalidValue {
                        key: "kind".into(),
                        value: k,
                        reason: "expected `sql` (the default) or `model`".into(),
                    },
                );
                return None;
            }
            k
        }
    };
    match (kind.as_str(), map.get("model")) {
        ("model", Some(n)) => super::model_spec::read_model(cx, n).map(Some),
        ("model", None) => {
            map.required(cx, "model");
            None
        }
        (_, Some(n)) => {
            cx.at(
                n,
                ProblemKind::InvalidValue {
                    key: "model".into(),
                    value: "model".into(),
                    reason: "a `model` section needs `kind: model` on the stage".into(),
                },
            );
            None
        }
        (_, None) => Some(None),
    }
}

fn check_unique_names(cx: &mut Cx, sources: &[Source], stages: &[Stage]) {
    let mut seen = HashSet::new();
    let named = sources
        .iter()
        .map(|s| (&s.name, &s.at, "source"))
        .chain(stages.iter().map(|s| (&s.name, &s.at, "stage")));
    for (name, at, what) in named {
        if !seen.insert(name.clone()) {
            cx.problems.push(Problem::at(
                at.clone(),
                ProblemKind::DuplicateName {
                    what: format!("{what} name"),
                    name: name.clone(),
                },
            ));
        }
    }
}
