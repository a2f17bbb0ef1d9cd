//! The smaller sections of a pipeline file: warehouse, engine, variables, intents, personal
//! data settings, and the literal-secret scan. Each reader records located problems and returns
//! `None` for a value it could not read.

use std::path::PathBuf;

use super::reader::Cx;
use super::types::{VarValue, parse_bytes};
use super::yaml::{Node, Value};
use super::{
    EngineConfig, EngineKind, IntentDictionary, PiiConfig, SchedulerUrl, VarDecl, WarehouseConfig,
};
use crate::diag::ProblemKind;

const WAREHOUSE_KEYS: &[&str] = &["root", "keep_releases"];
const ENGINE_KEYS: &[&str] = &[
    "kind",
    "scheduler",
    "executor_wait_seconds",
    "memory_limit",
    "target_partitions",
    "spill_dir",
    "parquet_compression",
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

pub(super) fn read_warehouse(cx: &mut Cx, node: Option<&Node>) -> Option<WarehouseConfig> {
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

pub(super) fn positive_int(cx: &mut Cx, key: &str, node: &Node) -> Option<usize> {
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

pub(super) fn read_engine(cx: &mut Cx, node: Option<&Node>) -> Option<EngineConfig> {
    let mut cfg = EngineConfig::default();
    let Some(node) = node else { return Some(cfg) };
    let map = cx.map(node, "engine", "`engine`", ENGINE_KEYS)?;
    let mut ok = true;
    match parsed(cx, map.get("kind"), "kind", EngineKind::parse) {
        Ok(kind) => cfg.kind = kind,
        Err(()) => ok = false,
    }
    let embedded = cfg.kind == Some(EngineKind::Embedded);
    match parsed(cx, map.get("scheduler"), "scheduler", |text| {
        if embedded {
            return Err("a scheduler is only used with `kind: ballista`".into());
        }
        SchedulerUrl::parse(text)
    }) {
        Ok(scheduler) => cfg.scheduler = scheduler,
        Err(()) => ok = false,
    }
    if let Some(n) = map.get("executor_wait_seconds") {
        let seconds = positive_int(cx, "executor_wait_seconds", n);
        ok &= seconds.is_some();
        if let (Some(s), true) = (seconds, embedded) {
            ok = false;
            cx.at(
                n,
                ProblemKind::InvalidValue {
                    key: "executor_wait_seconds".into(),
                    value: s.to_string(),
                    reason: "an executor wait is only used with `kind: ballista`".into(),
                },
            );
        }
        cfg.executor_wait_seconds = seconds.map(|s| s as u64);
    }
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

/// The string at `key` read with `parse`: `None` when absent, `Err` once a located problem
/// naming the key and the value has been recorded.
fn parsed<T>(
    cx: &mut Cx,
    node: Option<&Node>,
    key: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ()> {
    let Some(node) = node else { return Ok(None) };
    let text = cx.string(key, node).ok_or(())?;
    parse(&text).map(Some).map_err(|reason| {
        cx.at(
            node,
            ProblemKind::InvalidValue {
                key: key.into(),
                value: text,
                reason,
            },
        )
    })
}

pub(super) fn read_vars(cx: &mut Cx, node: Option<&Node>) -> Vec<VarDecl> {
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

pub(super) fn var_value(
    cx: &mut Cx,
    name: &str,
    node: &Node,
    ty: Option<&str>,
) -> Option<VarValue> {
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

pub(super) fn read_intents(cx: &mut Cx, node: Option<&Node>) -> Option<IntentDictionary> {
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

pub(super) fn read_pii(cx: &mut Cx, node: Option<&Node>) -> Option<PiiConfig> {
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

/// Refuse literal secrets anywhere in the file: a key that names a secret and holds a value.
pub(super) fn check_secrets(cx: &mut Cx, node: &Node) {
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
