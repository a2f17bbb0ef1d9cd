//! Random forest classification for model stages (`algorithm: random_forest`).
//!
//! - Rows with a label train or measure the forest; rows whose label is NULL are scored.
//! - Time-based holdout: the labelled rows at the latest `holdout` distinct times measure the
//!   forest trained on the earlier ones (no row of the future trains a model judged on the past).
//! - The forest: `trees` of smartcore's CART trees (Gini), each on a bootstrap sample of the
//!   training rows and a random subset of the features, grown to `max_depth` with at least
//!   `min_leaf` rows a leaf; every draw comes from PCG64 seeded by `seed`, and the trees break
//!   ties deterministically, so the same rows give the same forest in every run.
//! - A row's probability is the share of trees voting for the positive class (Breiman's forest
//!   vote, as R's `randomForest` reports it with `type = "prob"`).
//! - The features that raise a row's probability most: for each feature, the probability with
//!   that feature set to its training median subtracted from the row's probability; the largest
//!   positive differences are named, most first.
//! - NULL features read as [`MISSING`], below every real value, so a tree can split them off.
//!
//! Metrics on the holdout: AUC, precision among the top 10%, base rate, and the AUC of the
//! `baseline` feature ranked alone (in the direction that ranks the training rows better). The
//! `gate` thresholds decide adoption; a model that fails them is not used, and the newest
//! earlier adopted model scores the rows instead, or the stage fails when there is none.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Float64Array, RecordBatch};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters, SplitCriterion,
};

use super::{Job, ModelOutcome, as_f64, ds_column, metrics, pick, store, strings};
use crate::model::model_spec::ForestSpec;

/// The value a NULL feature takes.
pub const MISSING: f64 = -1.0e12;

/// One tree: smartcore's CART classifier over 0/1 labels.
type Tree = DecisionTreeClassifier<f64, u32, DenseMatrix<f64>, Vec<u32>>;

/// Rows x features, row-major.
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f64>,
}

impl Matrix {
    fn get(&self, r: usize, c: usize) -> f64 {
        self.values[r * self.cols + c]
    }

    /// The columns `cols` of the rows `rows`, as smartcore's matrix.
    fn select(&self, rows: &[usize], cols: &[usize]) -> Result<DenseMatrix<f64>, String> {
        let data: Vec<Vec<f64>> = rows
            .iter()
            .map(|r| cols.iter().map(|c| self.get(*r, *c)).collect())
            .collect();
        DenseMatrix::from_2d_vec(&data).map_err(|e| e.to_string())
    }
}

/// A fitted forest with what scoring needs.
#[derive(Debug, Serialize, Deserialize)]
pub struct Forest {
    /// Feature names in column order.
    pub features: Vec<String>,
    /// Each feature's training median (the reference of explanations).
    pub reference: Vec<f64>,
    pub trees: Vec<Tree>,
    /// The feature columns each tree was grown on, in its own column order.
    pub tree_features: Vec<Vec<usize>>,
    /// The model's identity, fixed when it is fitted: the first 16 hex digits of the SHA-256 of
    /// its serialized form (with this field empty), so reruns that fit the same trees publish
    /// the same id, and a kept model keeps its id.
    pub id: String,
}

impl Forest {
    /// Fit on `x` and 0/1 labels `y`: each tree on a bootstrap sample of
    /// `ceil(bootstrap_fraction * rows)` rows drawn with replacement and on
    /// `ceil(feature_fraction * features)` features drawn without replacement, both from PCG64
    /// seeded with `seed` (Breiman 2001's bagging; the feature subset is per tree, Ho 1998's
    /// random subspaces, rather than per split).
    pub fn fit(
        spec: &ForestSpec,
        features: Vec<String>,
        x: &Matrix,
        y: &[u32],
    ) -> Result<Forest, String> {
        let reference = (0..x.cols)
            .map(|c| median((0..x.rows).map(|r| x.get(r, c)).filter(|v| *v != MISSING)))
            .collect();
        let mut rng = Pcg64Mcg::seed_from_u64(spec.seed);
        let n_rows = ((spec.bootstrap_fraction * x.rows as f64).ceil() as usize).max(1);
        let n_cols = ((spec.feature_fraction * x.cols as f64).ceil() as usize).clamp(1, x.cols);
        // Every draw first, in tree order, from the one seeded stream; the trees are then grown
        // in parallel, each from its own draws, so the forest does not depend on the threads.
        let mut draws = Vec::with_capacity(spec.trees);
        for _ in 0..spec.trees {
            // A bootstrap sample with one class only cannot grow a classifier: draw again.
            let (rows, labels) = (0..100)
                .map(|_| {
                    let rows: Vec<usize> = (0..n_rows).map(|_| rng.random_range(0..x.rows)).collect();
                    let labels: Vec<u32> = rows.iter().map(|r| y[*r]).collect();
                    (rows, labels)
                })
                .find(|(_, l)| l.iter().any(|v| *v != l[0]))
                .ok_or("every bootstrap sample had a single class; more rows of the rarer label are needed")?;
            let mut cols: Vec<usize> = (0..x.cols).collect();
            for i in 0..n_cols {
                let j = rng.random_range(i..x.cols);
                cols.swap(i, j);
            }
            cols.truncate(n_cols);
            cols.sort_unstable();
            draws.push((rows, labels, cols));
        }
        let grown = in_parallel(&draws, |t, (rows, labels, cols)| {
            let params = DecisionTreeClassifierParameters {
                criterion: SplitCriterion::Gini,
                max_depth: Some(spec.max_depth.min(u16::MAX as usize) as u16),
                min_samples_leaf: spec.min_leaf,
                min_samples_split: 2 * spec.min_leaf,
                seed: Some(spec.seed ^ t as u64),
            };
            Tree::fit(&x.select(rows, cols)?, labels, params)
                .map_err(|e| format!("tree {t} did not fit: {e}"))
        });
        let trees = grown.into_iter().collect::<Result<Vec<_>, _>>()?;
        let tree_features = draws.into_iter().map(|(_, _, cols)| cols).collect();
        Forest {
            features,
            reference,
            trees,
            tree_features,
            id: String::new(),
        }
        .identify()
    }

    /// The share of trees voting positive, per row of `x`.
    pub fn probabilities(&self, x: &Matrix) -> Result<Vec<f64>, String> {
        let all: Vec<usize> = (0..x.rows).collect();
        let items: Vec<(&Tree, &Vec<usize>)> = self.trees.iter().zip(&self.tree_features).collect();
        let predicted = in_parallel(&items, |_, (tree, cols)| {
            tree.predict(&x.select(&all, cols)?)
                .map_err(|e| e.to_string())
        });
        // Integer votes: the sum is the same in any order.
        let mut votes = vec![0u32; x.rows];
        for p in predicted {
            for (v, p) in votes.iter_mut().zip(p?) {
                *v += p;
            }
        }
        let n = self.trees.len().max(1) as f64;
        Ok(votes.into_iter().map(|v| f64::from(v) / n).collect())
    }

    /// Per row of `x`, the indices of up to `k` features whose replacement by their training
    /// median lowers the probability most (positive contributions only), largest first; ties
    /// go to the earlier feature.
    pub fn top_features(
        &self,
        x: &Matrix,
        base: &[f64],
        k: usize,
    ) -> Result<Vec<Vec<usize>>, String> {
        let mut contributions = vec![Vec::with_capacity(x.cols); x.rows];
        for (j, reference) in self.reference.iter().enumerate() {
            let mut moved = Matrix {
                rows: x.rows,
                cols: x.cols,
                values: x.values.clone(),
            };
            for r in 0..x.rows {
                moved.values[r * x.cols + j] = *reference;
            }
            let p = self.probabilities(&moved)?;
            for (row, c) in contributions.iter_mut().enumerate() {
                c.push(base[row] - p[row]);
            }
        }
        Ok(contributions
            .into_iter()
            .map(|c| {
                let mut order: Vec<usize> = (0..c.len()).filter(|j| c[*j] > 0.0).collect();
                order.sort_by(|a, b| c[*b].total_cmp(&c[*a]).then(a.cmp(b)));
                order.truncate(k);
                order
            })
            .collect())
    }

    /// Set [`Forest::id`] from the serialized model.
    fn identify(mut self) -> Result<Forest, String> {
        use sha2::Digest;
        self.id.clear();
        let bytes = serde_json::to_vec(&self).map_err(|e| e.to_string())?;
        self.id = hex::encode(sha2::Sha256::digest(&bytes))[..16].to_string();
        Ok(self)
    }

    /// The mean impurity-based importance of each feature over the trees.
    pub fn importance(&self) -> Vec<f64> {
        let mut total = vec![0.0; self.features.len()];
        for (tree, cols) in self.trees.iter().zip(&self.tree_features) {
            for (local, value) in tree.compute_feature_importances(true).iter().enumerate() {
                if let Some(global) = cols.get(local) {
                    total[*global] += *value;
                }
            }
        }
        let n = self.trees.len().max(1) as f64;
        total.into_iter().map(|v| v / n).collect()
    }
}

/// A time value as written: a date for a DATE column, else the number.
fn time_text(column: &ArrayRef, value: f64) -> String {
    match column.data_type() {
        datafusion::arrow::datatypes::DataType::Date32 => {
            chrono::DateTime::from_timestamp(value as i64 * 86_400, 0)
                .map_or(value.to_string(), |d| d.date_naive().to_string())
        }
        _ => value.to_string(),
    }
}

/// `f(index, item)` for every item, on as many threads as the machine has cores, results in
/// item order.
fn in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len().max(1));
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let f = &f;
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, item)| f(c * chunk + i, item))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return MISSING;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Train, measure, gate and score; see the module docs.
pub async fn run(job: Job<'_, ForestSpec>) -> Result<ModelOutcome, String> {
    let b = job.features;
    let col = |name: &str| job.column(name);
    let label = as_f64(col(&job.settings.label)?)?;
    let time = as_f64(col(&job.spec.time)?)?;
    if let Some(row) = label
        .iter()
        .position(|l| !l.is_nan() && *l != 0.0 && *l != 1.0)
    {
        return Err(format!(
            "label `{}` is {} on a row (features row {} in time/id order); labels are 0/1, TRUE/FALSE or NULL (to score)",
            job.settings.label,
            label[row],
            row + 1
        ));
    }
    if let Some(row) = time.iter().position(|t| t.is_nan()) {
        return Err(format!(
            "time `{}` is NULL on features row {}; every row needs its time",
            job.spec.time,
            row + 1
        ));
    }
    let columns: Vec<Vec<f64>> = job
        .names
        .iter()
        .map(|n| col(n).and_then(as_f64))
        .collect::<Result<_, _>>()?;
    let matrix = |rows: &[usize]| -> Matrix {
        let mut values = Vec::with_capacity(rows.len() * columns.len());
        for r in rows {
            for c in &columns {
                let v = c[*r];
                values.push(if v.is_nan() { MISSING } else { v });
            }
        }
        Matrix {
            rows: rows.len(),
            cols: columns.len(),
            values,
        }
    };
    let mut times: Vec<f64> = (0..b.num_rows())
        .filter(|r| !label[*r].is_nan())
        .map(|r| time[r])
        .collect();
    times.dedup();
    if times.len() <= job.settings.holdout {
        return ModelOutcome::untrainable(
            job.spec,
            job.schema,
            format!(
                "training needs labelled rows at more than {} distinct `{}` values (holdout {}); the features query gave {}",
                job.settings.holdout,
                job.spec.time,
                job.settings.holdout,
                times.len()
            ),
        );
    }
    let cut = times[times.len() - job.settings.holdout];
    let rows =
        |f: &dyn Fn(usize) -> bool| -> Vec<usize> { (0..b.num_rows()).filter(|r| f(*r)).collect() };
    let train = rows(&|r| !label[r].is_nan() && time[r] < cut);
    let hold = rows(&|r| !label[r].is_nan() && time[r] >= cut);
    let score = rows(&|r| label[r].is_nan());
    // One scored row per id: the output has no time column to tell two apart.
    let mut seen = std::collections::HashSet::new();
    for r in score.iter().filter(|_| !job.spec.id.is_empty()) {
        let key: Vec<String> = job
            .spec
            .id
            .iter()
            .filter_map(|i| b.column_by_name(i))
            .map(|a| {
                datafusion::arrow::util::display::array_value_to_string(a, *r).unwrap_or_default()
            })
            .collect();
        if !seen.insert(key.clone()) {
            return Err(format!(
                "id ({}) has more than one row to score (label NULL); score one row per id (the rows of the latest `{}`, say) and give earlier rows their label",
                key.join(", "),
                job.spec.time
            ));
        }
    }
    let y_train: Vec<u32> = train.iter().map(|r| label[*r] as u32).collect();
    if y_train.iter().all(|y| *y == y_train[0]) {
        return ModelOutcome::untrainable(
            job.spec,
            job.schema,
            format!(
                "the {} training rows all have label {}; a classifier needs both",
                train.len(),
                y_train[0]
            ),
        );
    }
    let (x_train, x_hold, x_score) = (matrix(&train), matrix(&hold), matrix(&score));
    let spec = job.settings.clone();
    let names = job.names.to_vec();
    let started = std::time::Instant::now();
    let fitted = tokio::task::spawn_blocking(move || {
        let forest = Forest::fit(&spec, names, &x_train, &y_train)?;
        tracing::debug!(elapsed = ?started.elapsed(), "forest fitted");
        let p = forest.probabilities(&x_hold)?;
        tracing::debug!(elapsed = ?started.elapsed(), "holdout scored");
        Ok::<_, String>((forest, p))
    })
    .await
    .map_err(|e| format!("training stopped: {e}"))??;
    let (forest, p_hold) = fitted;
    let y_hold: Vec<bool> = hold.iter().map(|r| label[*r] == 1.0).collect();
    let auc = metrics::auc(&p_hold, &y_hold);
    let precision = metrics::precision_at(&p_hold, &y_hold, 0.1);
    let baseline = job.settings.baseline.as_ref().and_then(|name| {
        let j = job.names.iter().position(|n| n == name)?;
        let signed = |rows: &[usize], sign: f64| -> Vec<f64> {
            rows.iter()
                .map(|r| {
                    let v = columns[j][*r];
                    sign * if v.is_nan() { MISSING } else { v }
                })
                .collect()
        };
        let y_train: Vec<bool> = train.iter().map(|r| label[*r] == 1.0).collect();
        let sign = match metrics::auc(&signed(&train, 1.0), &y_train) {
            Some(a) if a < 0.5 => -1.0,
            _ => 1.0,
        };
        Some((name.clone(), metrics::auc(&signed(&hold, sign), &y_hold)))
    });
    let mut failures = Vec::new();
    if let Some(min) = job.settings.min_auc {
        match auc {
            Some(a) if a >= min => {}
            Some(a) => failures.push(format!("holdout AUC {a:.4} is below min_auc {min}")),
            None => failures.push("the holdout has a single class, so its AUC is undefined".into()),
        }
    }
    if let Some(min) = job.settings.min_precision_at_decile {
        match precision {
            Some(p) if p >= min => {}
            Some(p) => failures.push(format!(
                "holdout precision at the top decile {p:.4} is below min_precision_at_decile {min}"
            )),
            None => failures.push("the holdout is empty".into()),
        }
    }
    let adopted = failures.is_empty();
    let importance = forest.importance();
    let mut ranked: Vec<usize> = (0..importance.len()).collect();
    ranked.sort_by(|a, b| importance[*b].total_cmp(&importance[*a]).then(a.cmp(b)));
    let metrics_json = serde_json::json!({
        "stage": job.stage,
        "run_id": job.run_id,
        "ds": job.ds.map(|d| d.to_string()),
        "algorithm": "random_forest",
        "params": {
            "trees": job.settings.trees, "max_depth": job.settings.max_depth,
            "min_leaf": job.settings.min_leaf, "feature_fraction": job.settings.feature_fraction,
            "bootstrap_fraction": job.settings.bootstrap_fraction, "seed": job.settings.seed,
        },
        "features": job.names,
        "training_rows": train.len(),
        "holdout_rows": hold.len(),
        "scored_rows": score.len(),
        "holdout_from": time_text(col(&job.spec.time)?, cut),
        "base_rate_training": metrics::base_rate(&train.iter().map(|r| label[*r] == 1.0).collect::<Vec<_>>()),
        "base_rate": metrics::base_rate(&y_hold),
        "auc": auc,
        "precision_at_decile": precision,
        "baseline": baseline.as_ref().map(|(n, a)| serde_json::json!({"feature": n, "auc": a})),
        "importance": ranked.iter().map(|j| serde_json::json!({"feature": job.names[*j], "importance": importance[*j]})).collect::<Vec<_>>(),
        "gate": {"min_auc": job.settings.min_auc, "min_precision_at_decile": job.settings.min_precision_at_decile, "failures": failures},
        "adopted": adopted,
        "model_id": forest.id,
    });
    store::save(
        job.wh,
        job.stage,
        job.run_id,
        &metrics_json,
        adopted.then_some(&forest),
    )
    .await?;
    let (model_run, forest) = if adopted {
        (job.run_id.to_string(), forest)
    } else {
        match store::previous_adopted::<Forest>(job.wh, job.stage, job.run_id).await? {
            Some((run, old)) if old.features == forest.features => (run, old),
            Some((run, _)) => {
                return Err(format!(
                    "{}; the model adopted by run {run} used other features, so it cannot score these rows",
                    failures.join("; ")
                ));
            }
            None => {
                return ModelOutcome::untrainable(
                    job.spec,
                    job.schema,
                    format!(
                        "{}, and no earlier model of this stage was adopted to keep (see _meta/models/{}/{}/metrics.json)",
                        failures.join("; "),
                        job.stage,
                        job.run_id
                    ),
                );
            }
        }
    };
    let explain = job.settings.explain;
    let scored = tokio::task::spawn_blocking(move || {
        let p = forest.probabilities(&x_score)?;
        tracing::debug!(elapsed = ?started.elapsed(), "rows scored");
        let top = forest.top_features(&x_score, &p, explain)?;
        tracing::debug!(elapsed = ?started.elapsed(), "rows explained");
        Ok::<_, String>((forest, p, top))
    })
    .await
    .map_err(|e| format!("scoring stopped: {e}"))??;
    let (forest, p, top) = scored;
    let mut out: Vec<ArrayRef> = Vec::new();
    if let Some(ds) = job.ds {
        out.push(ds_column(ds, score.len()));
    }
    for id in &job.spec.id {
        out.push(pick(col(id)?, &score, job.schema, id)?);
    }
    out.push(Arc::new(Float64Array::from(p)));
    for i in 0..explain {
        out.push(strings(
            top.iter()
                .map(|t| t.get(i).map(|j| forest.features[*j].clone()))
                .collect(),
        ));
    }
    out.push(strings(vec![Some(forest.id.clone()); score.len()]));
    let batch = RecordBatch::try_new(job.schema.clone(), out).map_err(|e| e.to_string())?;
    let fmt = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    let mut note = format!(
        "holdout AUC {} (baseline {}), precision at top decile {}, base rate {}; {} training, {} holdout, {} scored rows",
        fmt(auc),
        baseline
            .as_ref()
            .map_or("none".to_string(), |(n, a)| format!("{n} {}", fmt(*a))),
        fmt(precision),
        fmt(metrics::base_rate(&y_hold)),
        train.len(),
        hold.len(),
        score.len()
    );
    if !adopted {
        note.push_str(&format!(
            "; NOT ADOPTED ({}): scored with the model adopted by run {model_run}",
            failures.join("; ")
        ));
    }
    Ok(ModelOutcome { batch, note })
}
