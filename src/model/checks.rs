//! Data checks declared on a stage (`checks:`), as parsed from the pipeline file.
//!
//! Each check is a mapping with exactly one kind key and optional `name`, `severity` (`error`,
//! the default, blocks publication; `warn` only reports) and `threshold` (the number of failing
//! rows tolerated, or a percentage of rows such as `"1%"`). Execution is in `crate::checks`.

use super::reader::{Cx, Map};
use super::yaml::{Node, Value};
use crate::diag::{Location, ProblemKind};

pub const CHECK_KINDS: &[&str] = &[
    "not_null",
    "unique",
    "accepted_values",
    "accepted_range",
    "relationships",
    "row_count",
    "expression",
    "sql",
    "freshness",
    "no_personal_data",
];
const COMMON_KEYS: &[&str] = &["name", "severity", "threshold"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

/// Failing rows tolerated before a check fails.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Threshold {
    Count(u64),
    Percent(f64),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    NotNull {
        columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
    },
    AcceptedValues {
        column: String,
        values: Vec<String>,
    },
    AcceptedRange {
        column: String,
        min: Option<f64>,
        max: Option<f64>,
    },
    Relationships {
        column: String,
        to: String,
        field: String,
    },
    RowCount {
        min: Option<u64>,
        max: Option<u64>,
        max_change_pct: Option<f64>,
    },
    Expression {
        expr: String,
    },
    Sql {
        query: String,
    },
    Freshness {
        column: String,
        max_age_days: i64,
    },
    /// No column named like personal data, no phone-, e-mail- or ID-number-shaped values.
    /// Applied to every ADS stage automatically.
    NoPersonalData,
}

impl CheckKind {
    pub fn kind_name(&self) -> &'static str {
        match self {
            CheckKind::NotNull { .. } => "not_null",
            CheckKind::Unique { .. } => "unique",
            CheckKind::AcceptedValues { .. } => "accepted_values",
            CheckKind::AcceptedRange { .. } => "accepted_range",
            CheckKind::Relationships { .. } => "relationships",
            CheckKind::RowCount { .. } => "row_count",
            CheckKind::Expression { .. } => "expression",
            CheckKind::Sql { .. } => "sql",
            CheckKind::Freshness { .. } => "freshness",
            CheckKind::NoPersonalData => "no_personal_data",
        }
    }

    /// A default name such as `unique(customer_id)`.
    pub fn default_name(&self) -> String {
        let args = match self {
            CheckKind::NotNull { columns } | CheckKind::Unique { columns } => columns.join(","),
            CheckKind::AcceptedValues { column, .. }
            | CheckKind::AcceptedRange { column, .. }
            | CheckKind::Freshness { column, .. } => column.clone(),
            CheckKind::Relationships { column, to, field } => format!("{column}->{to}.{field}"),
            CheckKind::RowCount { .. } => String::new(),
            CheckKind::Expression { expr } => expr.clone(),
            CheckKind::Sql { .. } => "query".into(),
            CheckKind::NoPersonalData => String::new(),
        };
        format!("{}({args})", self.kind_name())
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckSpec {
    pub name: String,
    pub kind: CheckKind,
    pub severity: Severity,
    pub threshold: Option<Threshold>,
    #[serde(skip)]
    pub at: Location,
}

/// Read a stage's `checks:` list.
pub(super) fn read_checks(cx: &mut Cx, node: &Node) -> Option<Vec<CheckSpec>> {
    let Value::Seq(items) = &node.value else {
        cx.wrong_type("checks", node, "a list of checks");
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        match read_check(cx, item) {
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn read_check(cx: &mut Cx, node: &Node) -> Option<CheckSpec> {
    let mut known: Vec<&str> = CHECK_KINDS.to_vec();
    known.extend_from_slice(COMMON_KEYS);
    let map = cx.map(node, "checks[]", "a check", &known)?;
    let kinds: Vec<&str> = map
        .entries
        .iter()
        .map(|(k, _)| k.name.as_str())
        .filter(|k| CHECK_KINDS.contains(k))
        .collect();
    let [kind_key] = kinds.as_slice() else {
        cx.at(
            node,
            ProblemKind::InvalidValue {
                key: "checks[]".into(),
                value: kinds.join(", "),
                reason: format!(
                    "a check has exactly one kind, one of {}",
                    CHECK_KINDS.join(", ")
                ),
            },
        );
        return None;
    };
    let body = map.get(kind_key).expect("key found above");
    let kind = read_kind(cx, kind_key, body)?;
    let severity = match map.opt_string(cx, "severity").as_deref() {
        None | Some("error") => Severity::Error,
        Some("warn") => Severity::Warn,
        Some(other) => {
            cx.at(
                map.get("severity").expect("present"),
                ProblemKind::InvalidValue {
                    key: "severity".into(),
                    value: other.into(),
                    reason: "expected `error` or `warn`".into(),
                },
            );
            return None;
        }
    };
    let threshold = match map.get("threshold") {
        None => None,
        Some(n) => Some(read_threshold(cx, n)?),
    };
    let name = map
        .opt_string(cx, "name")
        .unwrap_or_else(|| kind.default_name());
    Some(CheckSpec {
        name,
        kind,
        severity,
        threshold,
        at: cx.loc(node.line, node.column),
    })
}

fn read_threshold(cx: &mut Cx, n: &Node) -> Option<Threshold> {
    match &n.value {
        Value::Int(i) if *i >= 0 => Some(Threshold::Count(*i as u64)),
        Value::Str(s) if s.trim().ends_with('%') => {
            match s.trim().trim_end_matches('%').trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Some(Threshold::Percent(p)),
                _ => {
                    cx.at(
                        n,
                        ProblemKind::InvalidValue {
                            key: "threshold".into(),
                            value: s.clone(),
                            reason: "a percentage between 0% and 100%".into(),
                        },
                    );
                    None
                }
            }
        }
        _ => {
            cx.wrong_type("threshold", n, "a row count or a percentage such as \"1%\"");
            None
        }
    }
}

fn number(cx: &mut Cx, key: &str, n: &Node) -> Option<f64> {
    match n.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(f) => Some(f),
        _ => {
            cx.wrong_type(key, n, "a number");
            None
        }
    }
}

fn columns(cx: &mut Cx, key: &str, n: &Node) -> Option<Vec<String>> {
    match &n.value {
        Value::Str(s) => Some(vec![s.clone()]),
        Value::Seq(_) => {
            let cols: Vec<String> = cx.strings(key, n).into_iter().map(|(s, _)| s).collect();
            (!cols.is_empty()).then_some(cols)
        }
        _ => {
            cx.wrong_type(key, n, "a column name or a list of column names");
            None
        }
    }
}

fn body<'n>(cx: &mut Cx, key: &str, n: &'n Node, known: &[&str]) -> Option<Map<'n>> {
    cx.map(n, key, &format!("`{key}` check"), known)
}

fn read_kind(cx: &mut Cx, key: &str, n: &Node) -> Option<CheckKind> {
    Some(match key {
        "not_null" => CheckKind::NotNull {
            columns: columns(cx, key, n)?,
        },
        "unique" => CheckKind::Unique {
            columns: columns(cx, key, n)?,
        },
        "accepted_values" => {
            let m = body(cx, key, n, &["column", "values"])?;
            let column = m
                .required(cx, "column")
                .and_then(|c| cx.string("column", c));
            let values = m.required(cx, "values").map(|v| {
                let Value::Seq(items) = &v.value else {
                    cx.wrong_type("values", v, "a list");
                    return Vec::new();
                };
                items
                    .iter()
                    .filter_map(|i| match &i.value {
                        Value::Str(s) => Some(s.clone()),
                        Value::Int(x) => Some(x.to_string()),
                        Value::Bool(b) => Some(b.to_string()),
                        _ => {
                            cx.wrong_type("values", i, "a string or number");
                            None
                        }
                    })
                    .collect()
            });
            CheckKind::AcceptedValues {
                column: column?,
                values: values?,
            }
        }
        "accepted_range" => {
            let m = body(cx, key, n, &["column", "min", "max"])?;
            let column = m
                .required(cx, "column")
                .and_then(|c| cx.string("column", c));
            let min = match m.get("min") {
                Some(v) => Some(number(cx, "min", v)?),
                None => None,
            };
            let max = match m.get("max") {
                Some(v) => Some(number(cx, "max", v)?),
                None => None,
            };
            CheckKind::AcceptedRange {
                column: column?,
                min,
                max,
            }
        }
        "relationships" => {
            let m = body(cx, key, n, &["column", "to", "field"])?;
            let column = m
                .required(cx, "column")
                .and_then(|c| cx.string("column", c));
            let to = m.required(cx, "to").and_then(|c| cx.string("to", c));
            let field = m.opt_string(cx, "field");
            let column = column?;
            CheckKind::Relationships {
                field: field.unwrap_or_else(|| column.clone()),
                column,
                to: to?,
            }
        }
        "row_count" => {
            let m = body(cx, key, n, &["min", "max", "max_change_pct"])?;
            let int = |cx: &mut Cx, k: &str| -> Option<Option<u64>> {
                match m.get(k) {
                    None => Some(None),
                    Some(Node {
                        value: Value::Int(i),
                        ..
                    }) if *i >= 0 => Some(Some(*i as u64)),
                    Some(v) => {
                        cx.wrong_type(k, v, "a non-negative integer");
                        None
                    }
                }
            };
            let min = int(cx, "min")?;
            let max = int(cx, "max")?;
            let max_change_pct = match m.get("max_change_pct") {
                Some(v) => Some(number(cx, "max_change_pct", v)?),
                None => None,
            };
            CheckKind::RowCount {
                min,
                max,
                max_change_pct,
            }
        }
        "expression" => CheckKind::Expression {
            expr: cx.string(key, n)?,
        },
        "sql" => CheckKind::Sql {
            query: cx.string(key, n)?,
        },
        "no_personal_data" => match n.value {
            Value::Bool(true) => CheckKind::NoPersonalData,
            _ => {
                cx.wrong_type(key, n, "`true`");
                return None;
            }
        },
        "freshness" => {
            let m = body(cx, key, n, &["column", "max_age_days"])?;
            let column = m
                .required(cx, "column")
                .and_then(|c| cx.string("column", c));
            let age = m.required(cx, "max_age_days").and_then(|v| match v.value {
                Value::Int(i) if i >= 0 => Some(i),
                _ => {
                    cx.wrong_type("max_age_days", v, "a non-negative integer");
                    None
                }
            });
            CheckKind::Freshness {
                column: column?,
                max_age_days: age?,
            }
        }
        _ => unreachable!("only check kinds reach here"),
    })
}

impl CheckSpec {
    /// The personal-data gate every ADS stage gets.
    pub fn personal_data_gate(at: Location) -> CheckSpec {
        CheckSpec {
            name: "personal_data_gate".into(),
            kind: CheckKind::NoPersonalData,
            severity: Severity::Error,
            threshold: None,
            at,
        }
    }
}
