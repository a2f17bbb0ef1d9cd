//! The settings of an `experiment` model stage: an A/B comparison of arms (plans, variants)
//! per period, with confidence intervals and tests against a control arm.
//!
//! ```yaml
//! model:
//!   algorithm: experiment
//!   id: [customer_id]          # the unit: at most one row per unit and period
//!   time: months_since_start   # the period; each is analysed on its own
//!   arm: plan                  # the arm of each unit
//!   control: A                 # the arm the others are compared with
//!   metrics:                   # output columns are named after each metric
//!     nps: {column: nps_score, kind: nps}
//!     renewal_rate: {column: renewed, kind: proportion}
//!   params: {confidence: 0.95, resamples: 2000, seed: 7}
//! ```

use super::model_spec::{count, fraction};
use super::reader::{Cx, Map};
use super::yaml::{Node, Value};
use crate::diag::ProblemKind;

/// Keys of the `model` mapping that only an `experiment` has.
pub(super) const EXPERIMENT_KEYS: &[&str] = &["arm", "control", "metrics"];
const PARAMS: &[&str] = &["confidence", "resamples", "seed"];
const METRIC_KEYS: &[&str] = &["column", "kind"];

/// How a metric's per-unit values are summarized and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A BOOLEAN (or integer 0/1) per unit: the share of TRUE, with Wilson score intervals,
    /// Newcombe's hybrid score interval for the difference and the pooled two-proportion z-test.
    Proportion,
    /// A 0..10 score per unit: the Net Promoter Score, 100 * (share of 9-10 minus share of
    /// 0-6), with percentile bootstrap intervals and a permutation test for the difference.
    Nps,
}

impl MetricKind {
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Proportion => "proportion",
            MetricKind::Nps => "nps",
        }
    }
}

/// One metric: its output name, the features query's column and its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: String,
    pub column: String,
    pub kind: MetricKind,
}

/// Experiment settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentSpec {
    /// The column naming each unit's arm (a string).
    pub arm: String,
    /// The arm every other arm is compared with.
    pub control: String,
    pub metrics: Vec<Metric>,
    /// Level of every interval, in (0, 1).
    pub confidence: f64,
    /// Bootstrap resamples and permutation shuffles per comparison.
    pub resamples: usize,
    pub seed: u64,
}

/// Read the experiment keys of a `model` mapping.
pub(super) fn read_experiment(
    cx: &mut Cx,
    map: &Map<'_>,
    params: Option<&Node>,
    gate: Option<&Node>,
) -> Option<ExperimentSpec> {
    let arm = map.required(cx, "arm").and_then(|n| cx.string("arm", n));
    let control = map
        .required(cx, "control")
        .and_then(|n| cx.string("control", n));
    let metrics = map.required(cx, "metrics").and_then(|n| metrics(cx, n));
    let mut spec = ExperimentSpec {
        arm: String::new(),
        control: String::new(),
        metrics: Vec::new(),
        confidence: 0.95,
        resamples: 2000,
        seed: 1,
    };
    let mut ok = true;
    if let Some(p) = params {
        let p = cx.map(p, "params", "`model.params`", PARAMS)?;
        if let Some(n) = p.get("confidence") {
            ok &= fraction(cx, "confidence", n, false)
                .map(|v| spec.confidence = v)
                .is_some();
        }
        if let Some(n) = p.get("resamples") {
            match n.value {
                Value::Int(v) if (100..=100_000).contains(&v) => spec.resamples = v as usize,
                Value::Int(v) => {
                    cx.at(
                        n,
                        ProblemKind::InvalidValue {
                            key: "resamples".into(),
                            value: v.to_string(),
                            reason: "must be between 100 and 100000".into(),
                        },
                    );
                    ok = false;
                }
                _ => {
                    cx.wrong_type("resamples", n, "a whole number from 100 to 100000");
                    ok = false;
                }
            }
        }
        if let Some(n) = p.get("seed") {
            ok &= count(cx, "seed", n).map(|v| spec.seed = v as u64).is_some();
        }
    }
    if let Some(g) = gate {
        cx.at(
            g,
            ProblemKind::InvalidValue {
                key: "gate".into(),
                value: "gate".into(),
                reason: "an `experiment` has no gate: check its output columns (p-values, differences) with the stage's checks".into(),
            },
        );
        ok = false;
    }
    spec.arm = arm?;
    spec.control = control?;
    spec.metrics = metrics?;
    ok.then_some(spec)
}

/// `metrics`: a non-empty mapping of output names to `{column, kind}`.
fn metrics(cx: &mut Cx, node: &Node) -> Option<Vec<Metric>> {
    let Value::Map(entries) = &node.value else {
        cx.wrong_type(
            "metrics",
            node,
            "a mapping of metric names to {column, kind}",
        );
        return None;
    };
    if entries.is_empty() {
        cx.at(
            node,
            ProblemKind::InvalidValue {
                key: "metrics".into(),
                value: "{}".into(),
                reason:
                    "needs at least one metric, for example `nps: {column: nps_score, kind: nps}`"
                        .into(),
            },
        );
        return None;
    }
    let mut out = Vec::new();
    let mut ok = true;
    for (key, value) in entries {
        let name = key.name.clone();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            cx.at(
                value,
                ProblemKind::InvalidValue {
                    key: "metrics".into(),
                    value: name.clone(),
                    reason: "a metric name becomes column names: lower-case letters, digits and `_`, not starting with a digit".into(),
                },
            );
            ok = false;
            continue;
        }
        let Some(m) = cx.map(value, &name, &format!("metric `{name}`"), METRIC_KEYS) else {
            ok = false;
            continue;
        };
        let column = m
            .required(cx, "column")
            .and_then(|n| cx.string("column", n));
        let kind = m.required(cx, "kind").and_then(|n| {
            match cx.string("kind", n)?.as_str() {
                "proportion" => Some(MetricKind::Proportion),
                "nps" => Some(MetricKind::Nps),
                other => {
                    cx.at(
                        n,
                        ProblemKind::InvalidValue {
                            key: "kind".into(),
                            value: other.into(),
                            reason: "expected `proportion` (a BOOLEAN per unit) or `nps` (a 0-10 score per unit)".into(),
                        },
                    );
                    None
                }
            }
        });
        match (column, kind) {
            (Some(column), Some(kind)) => out.push(Metric { name, column, kind }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}
