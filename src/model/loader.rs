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
use super::types::{VarValue, parse_bytes, parse_column_type};
use super::yaml::{self, Node, Value};
use super::{
    EngineConfig, IntentDictionary, Layer, Materialization, PiiConfig, Pipeline, Source,
    SourceFormat, Stage, VarDecl, WarehouseConfig,
};
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
];
const WAREHOUSE_KEYS: &[&str] = &["root", "keep_releases"];
const ENGINE_KEYS: &[&str] = &[
    "memory_limit",
    "target_partitions",
    "spill_dir",
    "parquet_compression",
];
const SOURCE_KEYS: &[&str] = &[
    "name",
    "location",
    "format",
    "partitions",
    "columns",
    "optional",
    "description",
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
];
const VAR_KEYS: &[&str] = &["type", "default", "description"];
const INTENT_KEYS: &[&str] = &["keywords", "default"];
const PII_KEYS: &[&str] = &["hash_key_env"];
const SECRET_WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "access_key",
    "secret_key",
    "token",
    "api_key",
    "credential",
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
    })
}

fn read_warehouse(cx: &mut Cx, node: Option<&Node>) -> Option<WarehouseConfig> {
    let mut cfg = WarehouseConfig {
        root: "./warehouse".to_string(),
        keep_releases: 3,
    };
    let Some(node) = node else { return Some(cfg) };
    if let Value::Str(s) = &node.value {
        cfg.root = s.clone();
        return Some(cfg);
    }
    let map = cx.map(node, "warehouse", "`warehouse`", WAREHOUSE_KEYS)?;
    if let Some(root) = map.opt_string(cx, "root") {
        cfg.root = root;
    }
    if let Some(n) = map.get("keep_releases") {
        cfg.keep_releases = positive_int(cx, "keep_releases", n)?;
    }
    Some(cfg)
}

fn positive_int(cx: &mut Cx, key: &str, node: &Node) -> Option<usize> {
    match node.value {
        Value::Int(i) if i > 0 => Some(i as usize),
        Value::Int(i) => {
            cx.at(
                node,
                ProblemKind::InvalidValue {
                    key: key.into(),
                    value: i.to_string(),
                    reason: "must be at least 1".into(),
                },
            );
            None
        }
        _ => {
            cx.wrong_type(key, node, "a positive integer");
            None
        }
    }
}

fn read_engine(cx: &mut Cx, node: Option<&Node>) -> Option<EngineConfig> {
    let mut cfg = EngineConfig::default();
    let Some(node) = node else { return Some(cfg) };
    let map = cx.map(node, "engine", "`engine`", ENGINE_KEYS)?;
    let mut ok = true;
    if let Some(n) = map.get("memory_limit") {
        let text = match &n.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(i) => Some(i.to_string()),
            _ => {
                cx.wrong_type("memory_limit", n, "a size such as 4GB");
                None
            }
        };
        match text.map(|t| (parse_bytes(&t), t)) {
            Some((Ok(b), _)) => cfg.memory_limit = Some(b),
            Some((Err(reason), value)) => {
                ok = false;
                cx.at(
                    n,
                    ProblemKind::InvalidValue {
                        key: "memory_limit".into(),
                        value,
                        reason,
                    },
                )
            }
            None => ok = false,
        }
    }
    if let Some(n) = map.get("target_partitions") {
        cfg.target_partitions = positive_int(cx, "target_partitions", n);
        ok &= cfg.target_partitions.is_some();
    }
    if let Some(dir) = map.opt_string(cx, "spill_dir") {
        cfg.spill_dir = Some(PathBuf::from(dir));
    }
    if let Some(n) = map.get("parquet_compression") {
        let c = cx.string("parquet_compression", n);
        ok &= c.is_some();
        cfg.compression = c;
    }
    ok.then_some(cfg)
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

fn name_of(cx: &mut Cx, map: &Map<'_>) -> Option<String> {
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

fn read_source(cx: &mut Cx, node: &Node) -> Option<Source> {
    let map = cx.map(node, "sources[]", "a source", SOURCE_KEYS)?;
    let name = name_of(cx, &map);
    let location_node = map.required(cx, "location");
    let location = location_node.and_then(|n| cx.string("location", n));
    let format = match map.get("format") {
        None => Some(SourceFormat::Parquet),
        Some(n) => cx.string("format", n).and_then(|f| match f.as_str() {
            "parquet" => Some(SourceFormat::Parquet),
            "csv" => Some(SourceFormat::Csv),
            _ => {
                cx.at(
                    n,
                    ProblemKind::InvalidValue {
                        key: "format".into(),
                        value: f,
                        reason: "expected `parquet` or `csv`".into(),
                    },
                );
                None
            }
        }),
    };
    let partitions = map
        .get("partitions")
        .map(|n| read_columns(cx, "partitions", n))
        .unwrap_or_else(|| Some(Vec::new()));
    let columns = match map.get("columns") {
        Some(n) => read_columns(cx, "columns", n).map(Some),
        None => Some(None),
    };
    let optional = match map.get("optional") {
        None => Some(false),
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => Some(*b),
        Some(n) => {
            cx.wrong_type("optional", n, "true or false");
            None
        }
    };
    let description = map.opt_string(cx, "description");
    let complete =
        location.is_some() && partitions.is_some() && columns.is_some() && optional.is_some();
    if let (Some(n), false) = (&name, complete) {
        cx.broken.push(n.clone());
    }
    let location_node = location_node?;
    Some(Source {
        name: name?,
        format: format?,
        location: location?,
        location_at: cx.loc(location_node.line, location_node.column),
        partitions: partitions?,
        columns: columns?,
        optional: optional?,
        description,
        at: cx.loc(node.line, node.column),
    })
}

/// A mapping of column name to type name, in order.
fn read_columns(
    cx: &mut Cx,
    key: &str,
    node: &Node,
) -> Option<Vec<(String, datafusion::arrow::datatypes::DataType)>> {
    let Value::Map(entries) = &node.value else {
        cx.wrong_type(key, node, "a mapping of column name to type");
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (k, v) in entries {
        let Some(text) = cx.string(&k.name, v) else {
            ok = false;
            continue;
        };
        match parse_column_type(&text) {
            Ok(dt) => out.push((k.name.clone(), dt)),
            Err(reason) => {
                ok = false;
                cx.at(
                    v,
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

fn read_vars(cx: &mut Cx, node: Option<&Node>) -> Vec<VarDecl> {
    let Some(node) = node else { return Vec::new() };
    let Value::Map(entries) = &node.value else {
        cx.wrong_type("vars", node, "a mapping of variable name to default");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in entries {
        let at = cx.loc(k.line, k.column);
        if k.name == "ds" {
            cx.at(
                v,
                ProblemKind::InvalidValue {
                    key: "vars".into(),
                    value: k.name.clone(),
                    reason: "`ds` is the run date and cannot be declared as a variable".into(),
                },
            );
            continue;
        }
        let (default, description) = match &v.value {
            Value::Map(_) => {
                let Some(map) = cx.map(v, &k.name, &format!("variable `{}`", k.name), VAR_KEYS)
                else {
                    continue;
                };
                let Some(default) = map.required(cx, "default") else {
                    continue;
                };
                let ty = map.opt_string(cx, "type");
                (
                    var_value(cx, &k.name, default, ty.as_deref()),
                    map.opt_string(cx, "description"),
                )
            }
            _ => (var_value(cx, &k.name, v, None), None),
        };
        if let Some(default) = default {
            out.push(VarDecl {
                name: k.name.clone(),
                default,
                description,
                at,
            });
        }
    }
    out
}

fn var_value(cx: &mut Cx, name: &str, node: &Node, ty: Option<&str>) -> Option<VarValue> {
    let inferred = match &node.value {
        Value::Str(s) => VarValue::Str(s.clone()),
        Value::Int(i) => VarValue::Int(*i),
        Value::Float(f) => VarValue::Float(*f),
        Value::Bool(b) => VarValue::Bool(*b),
        _ => {
            cx.wrong_type(name, node, "a string, number, boolean or date");
            return None;
        }
    };
    let want = match ty {
        None => return Some(inferred),
        Some("string") => VarValue::Str(String::new()),
        Some("int") => VarValue::Int(0),
        Some("float") => VarValue::Float(0.0),
        Some("bool") => VarValue::Bool(false),
        Some("date") => VarValue::Date(chrono::NaiveDate::MIN),
        Some(other) => {
            cx.at(
                node,
                ProblemKind::InvalidValue {
                    key: format!("{name}.type"),
                    value: other.to_string(),
                    reason: "expected string, int, float, bool or date".into(),
                },
            );
            return None;
        }
    };
    match want.parse_like(&inferred.to_string()) {
        Ok(v) => Some(v),
        Err(reason) => {
            cx.at(
                node,
                ProblemKind::InvalidValue {
                    key: format!("{name}.default"),
                    value: inferred.to_string(),
                    reason,
                },
            );
            None
        }
    }
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
    let columns = match map.get("columns") {
        Some(n) => read_columns(cx, "columns", n).map(Some),
        None => Some(None),
    };
    let complete = layer.is_some()
        && materialization.is_some()
        && sql.is_some()
        && checks.is_some()
        && columns.is_some();
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
        at: cx.loc(node.line, node.column),
    })
}

fn read_intents(cx: &mut Cx, node: Option<&Node>) -> Option<IntentDictionary> {
    let Some(node) = node else {
        return Some(IntentDictionary::default());
    };
    let map = cx.map(node, "intents", "`intents`", INTENT_KEYS)?;
    let default_label = map
        .opt_string(cx, "default")
        .unwrap_or_else(|| IntentDictionary::default().default_label);
    let keywords = map.required(cx, "keywords")?;
    let Value::Map(entries) = &keywords.value else {
        cx.wrong_type(
            "keywords",
            keywords,
            "a mapping of label to a list of keywords",
        );
        return None;
    };
    let labels = entries
        .iter()
        .map(|(k, v)| {
            let words = cx.strings(&k.name, v).into_iter().map(|(w, _)| w).collect();
            (k.name.clone(), words)
        })
        .collect();
    Some(IntentDictionary {
        labels,
        default_label,
    })
}

fn read_pii(cx: &mut Cx, node: Option<&Node>) -> Option<PiiConfig> {
    let Some(node) = node else {
        return Some(PiiConfig::default());
    };
    let map = cx.map(node, "pii", "`pii`", PII_KEYS)?;
    let mut cfg = PiiConfig::default();
    if let Some(env) = map.opt_string(cx, "hash_key_env") {
        cfg.hash_key_env = env;
    }
    Some(cfg)
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

/// Refuse literal secrets anywhere in the file: a key that names a secret and holds a value.
fn check_secrets(cx: &mut Cx, node: &Node) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let lower = k.name.to_ascii_lowercase();
                let names_secret =
                    SECRET_WORDS.iter().any(|w| lower.contains(w)) && !lower.ends_with("_env");
                let has_value = matches!(&v.value, Value::Str(s) if !s.trim().is_empty())
                    || matches!(v.value, Value::Int(_) | Value::Float(_));
                if names_secret && has_value {
                    cx.problem(
                        k.line,
                        k.column,
                        ProblemKind::LiteralSecret {
                            key: k.name.clone(),
                        },
                    );
                }
                check_secrets(cx, v);
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| check_secrets(cx, i)),
        _ => {}
    }
}
