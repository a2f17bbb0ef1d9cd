//! The `model` section of a model stage (`kind: model`): which algorithm turns the rows of the
//! stage's features query into its output, on which columns, with which typed parameters.
//!
//! ```yaml
//! - name: dws_churn_score
//!   layer: dws
//!   kind: model
//!   sql: sql/dws/dws_churn_score.sql      # the features query
//!   materialization: partitioned
//!   model:
//!     algorithm: random_forest
//!     id: [customer_id]                    # copied to the output
//!     time: cutoff                         # snapshot date of each row
//!     label: churned_90d                   # NULL on the rows to score
//!     holdout: 1                           # the latest labelled cutoff is the holdout
//!     baseline: recency_days               # a one-feature ranking to compare with
//!     params: {trees: 200, max_depth: 8, min_leaf: 5, feature_fraction: 0.5, seed: 7}
//!     gate: {min_auc: 0.7}
//! ```
//!
//! Every key is checked here (types, ranges, unknown keys with the closest valid one); that the
//! named columns exist with usable types is checked when the features query is planned
//! (`engine::model::output_schema`).

use super::experiment_spec::{EXPERIMENT_KEYS, read_experiment};
pub use super::experiment_spec::{ExperimentSpec, Metric, MetricKind};
use super::reader::{Cx, Map};
use super::sections::positive_int;
use super::yaml::{Node, Value};
use crate::diag::{Location, ProblemKind};

const COMMON_KEYS: &[&str] = &[
    "algorithm",
    "id",
    "time",
    "params",
    "gate",
    "when_untrainable",
];
const FOREST_KEYS: &[&str] = &["label", "holdout", "explain", "baseline"];
const ETS_KEYS: &[&str] = &["value", "horizon", "levels", "backtest"];
const FOREST_PARAMS: &[&str] = &[
    "trees",
    "max_depth",
    "min_leaf",
    "feature_fraction",
    "bootstrap_fraction",
    "seed",
];
const ETS_PARAMS: &[&str] = &["season_length", "spec"];
const FOREST_GATE: &[&str] = &["min_auc", "min_precision_at_decile"];

/// The algorithms a model stage can name.
#[derive(Debug, Clone, PartialEq)]
pub enum Algorithm {
    /// Binary classification by a random forest (linfa's bagged decision trees); see
    /// [`ForestSpec`].
    RandomForest(ForestSpec),
    /// Exponential smoothing per series (augurs' automatic ETS); see [`EtsSpec`].
    Ets(EtsSpec),
    /// An A/B comparison of arms per period; see [`ExperimentSpec`].
    Experiment(ExperimentSpec),
}

impl Algorithm {
    pub fn name(&self) -> &'static str {
        match self {
            Algorithm::RandomForest(_) => "random_forest",
            Algorithm::Ets(_) => "ets",
            Algorithm::Experiment(_) => "experiment",
        }
    }
}

/// A model stage's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub algorithm: Algorithm,
    /// Columns copied to the output that identify a row (a customer; a forecast series).
    pub id: Vec<String>,
    /// The time column: a classifier's snapshot date (time-based holdout); a forecast's period.
    pub time: String,
    /// What to do when the rows cannot make a usable model (too little labelled history, one
    /// class only, a series too short to fit, a gate failed with no earlier model to keep).
    pub when_untrainable: Untrainable,
    pub at: Location,
}

/// `when_untrainable`: fail the stage (the default), or publish no rows and say why in the
/// run summary (a new warehouse, or a small test fixture, has no history to learn from yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untrainable {
    Fail,
    Empty,
}

/// Random forest settings. Rows whose label is NULL are scored; labelled rows train the forest,
/// except those at the latest `holdout` distinct times, which measure it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestSpec {
    /// A BOOLEAN or integer 0/1 column.
    pub label: String,
    pub holdout: usize,
    /// How many of the features that raise a row's probability most are named in the output.
    pub explain: usize,
    /// A feature whose ranking alone is measured beside the model (its AUC in the metrics).
    pub baseline: Option<String>,
    pub trees: usize,
    pub max_depth: usize,
    pub min_leaf: usize,
    /// Share of the features each tree is grown on, in (0, 1].
    pub feature_fraction: f64,
    /// Size of each tree's bootstrap sample as a share of the training rows, in (0, 1].
    pub bootstrap_fraction: f64,
    pub seed: u64,
    /// The holdout AUC below which the model is not adopted.
    pub min_auc: Option<f64>,
    /// The holdout precision among the top 10% below which the model is not adopted.
    pub min_precision_at_decile: Option<f64>,
}

/// ETS forecast settings: one series per distinct `id`, one value per `time` period (months).
#[derive(Debug, Clone, PartialEq)]
pub struct EtsSpec {
    pub value: String,
    /// Periods forecast after the last one.
    pub horizon: usize,
    /// Prediction interval levels, each in (0, 1).
    pub levels: Vec<f64>,
    /// Periods held out at the end of each series to measure the MAPE of a forecast made
    /// without them.
    pub backtest: usize,
    /// Season length in periods (12 for months); 1 for none.
    pub season_length: usize,
    /// The ETS model family in augurs' three-letter form (error, trend, season: `ZZZ` searches).
    pub spec: String,
}

/// Read a stage's `model` mapping.
pub(super) fn read_model(cx: &mut Cx, node: &Node) -> Option<ModelSpec> {
    let all: Vec<&str> = COMMON_KEYS
        .iter()
        .chain(FOREST_KEYS)
        .chain(ETS_KEYS)
        .chain(EXPERIMENT_KEYS)
        .copied()
        .collect();
    let map = cx.map(node, "model", "`model`", &all)?;
    let algorithm_node = map.required(cx, "algorithm")?;
    let algorithm = cx.string("algorithm", algorithm_node)?;
    let own: &[&str] = match algorithm.as_str() {
        "random_forest" => FOREST_KEYS,
        "ets" => ETS_KEYS,
        "experiment" => EXPERIMENT_KEYS,
        _ => {
            cx.at(
                algorithm_node,
                ProblemKind::InvalidValue {
                    key: "algorithm".into(),
                    value: algorithm,
                    reason: "expected `random_forest`, `ets` or `experiment`".into(),
                },
            );
            return None;
        }
    };
    let other = [FOREST_KEYS, ETS_KEYS, EXPERIMENT_KEYS]
        .into_iter()
        .filter(|keys| *keys != own)
        .flatten();
    for key in other {
        if let Some(n) = map.get(key) {
            cx.at(
                n,
                ProblemKind::InvalidValue {
                    key: (*key).into(),
                    value: key.to_string(),
                    reason: format!("`{key}` is not a setting of algorithm `{algorithm}`"),
                },
            );
        }
    }
    let id: Vec<String> = map
        .get("id")
        .map(|n| cx.strings("id", n).into_iter().map(|(s, _)| s).collect())
        .unwrap_or_default();
    let time = map.required(cx, "time").and_then(|n| cx.string("time", n));
    let params = map.get("params");
    let gate = map.get("gate");
    let when_untrainable = match map.get("when_untrainable") {
        None => Some(Untrainable::Fail),
        Some(n) => match cx.string("when_untrainable", n).as_deref() {
            Some("fail") => Some(Untrainable::Fail),
            Some("empty") => Some(Untrainable::Empty),
            Some(other) => {
                cx.at(
                    n,
                    ProblemKind::InvalidValue {
                        key: "when_untrainable".into(),
                        value: other.into(),
                        reason: "expected `fail` (the default) or `empty`".into(),
                    },
                );
                None
            }
            None => None,
        },
    };
    let algorithm = if own == FOREST_KEYS {
        read_forest(cx, &map, params, gate).map(Algorithm::RandomForest)
    } else if own == ETS_KEYS {
        read_ets(cx, &map, params, gate).map(Algorithm::Ets)
    } else {
        read_experiment(cx, &map, params, gate).map(Algorithm::Experiment)
    };
    Some(ModelSpec {
        algorithm: algorithm?,
        id,
        time: time?,
        when_untrainable: when_untrainable?,
        at: cx.loc(node.line, node.column),
    })
}

fn read_forest(
    cx: &mut Cx,
    map: &Map<'_>,
    params: Option<&Node>,
    gate: Option<&Node>,
) -> Option<ForestSpec> {
    let label = map
        .required(cx, "label")
        .and_then(|n| cx.string("label", n));
    let mut spec = ForestSpec {
        label: String::new(),
        holdout: 1,
        explain: 3,
        baseline: map.opt_string(cx, "baseline"),
        trees: 100,
        max_depth: 8,
        min_leaf: 5,
        feature_fraction: 0.6,
        bootstrap_fraction: 1.0,
        seed: 1,
        min_auc: None,
        min_precision_at_decile: None,
    };
    let mut ok = true;
    if let Some(n) = map.get("holdout") {
        ok &= positive_int(cx, "holdout", n)
            .map(|v| spec.holdout = v)
            .is_some();
    }
    if let Some(n) = map.get("explain") {
        ok &= count(cx, "explain", n).map(|v| spec.explain = v).is_some();
    }
    if let Some(p) = params {
        let p = cx.map(p, "params", "`model.params`", FOREST_PARAMS)?;
        for (key, slot) in [
            ("trees", &mut spec.trees),
            ("max_depth", &mut spec.max_depth),
            ("min_leaf", &mut spec.min_leaf),
        ] {
            if let Some(n) = p.get(key) {
                ok &= positive_int(cx, key, n).map(|v| *slot = v).is_some();
            }
        }
        for (key, slot) in [
            ("feature_fraction", &mut spec.feature_fraction),
            ("bootstrap_fraction", &mut spec.bootstrap_fraction),
        ] {
            if let Some(n) = p.get(key) {
                ok &= fraction(cx, key, n, true).map(|v| *slot = v).is_some();
            }
        }
        if let Some(n) = p.get("seed") {
            ok &= count(cx, "seed", n).map(|v| spec.seed = v as u64).is_some();
        }
    }
    if let Some(g) = gate {
        let g = cx.map(g, "gate", "`model.gate`", FOREST_GATE)?;
        if let Some(n) = g.get("min_auc") {
            ok &= fraction(cx, "min_auc", n, true)
                .map(|v| spec.min_auc = Some(v))
                .is_some();
        }
        if let Some(n) = g.get("min_precision_at_decile") {
            ok &= fraction(cx, "min_precision_at_decile", n, true)
                .map(|v| spec.min_precision_at_decile = Some(v))
                .is_some();
        }
    }
    spec.label = label?;
    ok.then_some(spec)
}

fn read_ets(
    cx: &mut Cx,
    map: &Map<'_>,
    params: Option<&Node>,
    gate: Option<&Node>,
) -> Option<EtsSpec> {
    let value = map
        .required(cx, "value")
        .and_then(|n| cx.string("value", n));
    let mut spec = EtsSpec {
        value: String::new(),
        horizon: 3,
        levels: vec![0.8, 0.95],
        backtest: 6,
        season_length: 12,
        spec: "ZZZ".into(),
    };
    let mut ok = true;
    if let Some(n) = map.get("horizon") {
        ok &= positive_int(cx, "horizon", n)
            .map(|v| spec.horizon = v)
            .is_some();
    }
    if let Some(n) = map.get("backtest") {
        ok &= positive_int(cx, "backtest", n)
            .map(|v| spec.backtest = v)
            .is_some();
    }
    if let Some(n) = map.get("levels") {
        match &n.value {
            Value::Seq(items) if !items.is_empty() => {
                let levels: Vec<Option<f64>> = items
                    .iter()
                    .map(|i| fraction(cx, "levels", i, false))
                    .collect();
                match levels.into_iter().collect::<Option<Vec<f64>>>() {
                    Some(l) => spec.levels = l,
                    None => ok = false,
                }
            }
            _ => {
                cx.wrong_type("levels", n, "a non-empty list of numbers between 0 and 1");
                ok = false;
            }
        }
    }
    if let Some(p) = params {
        let p = cx.map(p, "params", "`model.params`", ETS_PARAMS)?;
        if let Some(n) = p.get("season_length") {
            ok &= positive_int(cx, "season_length", n)
                .map(|v| spec.season_length = v)
                .is_some();
        }
        if let Some(n) = p.get("spec") {
            match cx.string("spec", n) {
                Some(s) if valid_ets_spec(&s) => spec.spec = s,
                Some(s) => {
                    cx.at(
                        n,
                        ProblemKind::InvalidValue {
                            key: "spec".into(),
                            value: s,
                            reason: "three letters: error A, M or Z; trend N, A or Z; season N, A, M or Z (`ZZZ` searches all). A multiplicative trend (M) is not offered: augurs computes its intervals by unseeded simulation, so reruns would publish different bounds".into(),
                        },
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
    }
    if let Some(g) = gate {
        cx.at(
            g,
            ProblemKind::InvalidValue {
                key: "gate".into(),
                value: "gate".into(),
                reason: "an `ets` model has no gate: its output's `backtest_mape` column is checked by the stage's checks (for example `accepted_range: {column: backtest_mape, max: 25}`)".into(),
            },
        );
        ok = false;
    }
    spec.value = value?;
    ok.then_some(spec)
}

/// Error, trend and season letters augurs can fit with closed-form intervals: no multiplicative
/// trend (augurs simulates those intervals with an unseeded generator, and refuses additive
/// error with it); `Z` in the trend searches N and A (augurs' default).
fn valid_ets_spec(s: &str) -> bool {
    let c: Vec<char> = s.chars().collect();
    c.len() == 3 && "AMZ".contains(c[0]) && "NAZ".contains(c[1]) && "NAMZ".contains(c[2])
}

pub(super) fn count(cx: &mut Cx, key: &str, node: &Node) -> Option<usize> {
    match node.value {
        Value::Int(i) if i >= 0 => Some(i as usize),
        _ => {
            cx.wrong_type(key, node, "a whole number of at least 0");
            None
        }
    }
}

fn number(cx: &mut Cx, key: &str, node: &Node) -> Option<f64> {
    match node.value {
        Value::Int(i) => Some(i as f64),
        Value::Float(f) if f.is_finite() => Some(f),
        Value::Float(f) => {
            cx.at(
                node,
                ProblemKind::InvalidValue {
                    key: key.into(),
                    value: f.to_string(),
                    reason: "must be a finite number".into(),
                },
            );
            None
        }
        _ => {
            cx.wrong_type(key, node, "a number");
            None
        }
    }
}

/// A number in (0, 1), or (0, 1] when `one_allowed`.
pub(super) fn fraction(cx: &mut Cx, key: &str, node: &Node, one_allowed: bool) -> Option<f64> {
    let v = number(cx, key, node)?;
    if v > 0.0 && (v < 1.0 || (one_allowed && v == 1.0)) {
        return Some(v);
    }
    cx.at(
        node,
        ProblemKind::InvalidValue {
            key: key.into(),
            value: v.to_string(),
            reason: if one_allowed {
                "must be greater than 0 and at most 1".into()
            } else {
                "must be greater than 0 and less than 1".into()
            },
        },
    );
    None
}
