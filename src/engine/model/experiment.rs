//! Plan experiments (`algorithm: experiment`): each arm's metrics per period with confidence
//! intervals, and each arm's difference from the control arm with a p-value.
//!
//! The features query returns at most one row per unit (the `id` columns) and period (`time`),
//! with the unit's arm and one value per metric (NULL when the unit has none in that period).
//! One output row per period and arm, in period then arm order:
//! - the period, the arm, `is_control`;
//! - `units`: the arm's rows in the period;
//! - per metric `m`: `m_n` (units with a value), `m` (the share for a proportion, 0..1; the NPS
//!   for an nps metric, -100..100), `m_low`/`m_high` (its interval at `confidence`), and for
//!   every arm but the control `m_diff` (arm minus control, same unit), `m_diff_low`/
//!   `m_diff_high` and `m_p_value` (two-sided). The control's own rows have NULL differences.
//!   Methods and sources: [`super::stats`].
//!
//! Bootstrap and permutation draws come from PCG generators seeded by a SHA-256 of (`seed`,
//! metric, period, arm), so reruns, core counts and the scan's row order give the same figures
//! (the rows are sorted by period and unit first).

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch,
};
use datafusion::arrow::util::display::array_value_to_string;
use rand_pcg::Pcg64Mcg;
use sha2::Digest;

use super::stats::{
    bootstrap_nps, newcombe, nps, nps_class, permutation_p, quantile, two_proportion_p, wilson,
    z_of,
};
use super::{Job, ModelOutcome, as_f64, ds_column, pick, store, strings};
use crate::model::model_spec::{ExperimentSpec, Metric, MetricKind};

/// The output column names of metric `m`, in output order.
pub fn metric_columns(m: &str) -> [String; 8] {
    [
        format!("{m}_n"),
        m.to_string(),
        format!("{m}_low"),
        format!("{m}_high"),
        format!("{m}_diff"),
        format!("{m}_diff_low"),
        format!("{m}_diff_high"),
        format!("{m}_p_value"),
    ]
}

/// One metric's values of one arm in one period: 0/1 for a proportion, the NPS class for an
/// nps metric; units without a value are left out.
type Values = Vec<i8>;

/// One period: its first row (for the time value) and, per arm in name order, the arm's
/// units and each metric's values.
struct Period {
    first_row: usize,
    arms: BTreeMap<String, (i64, Vec<Values>)>,
}

/// One output row's figures for one metric.
#[derive(Default, Clone)]
struct Figures {
    n: i64,
    value: Option<f64>,
    low: Option<f64>,
    high: Option<f64>,
    diff: Option<f64>,
    diff_low: Option<f64>,
    diff_high: Option<f64>,
    p_value: Option<f64>,
}

/// Summarize and compare; see the module docs.
pub async fn run(job: Job<'_, ExperimentSpec>) -> Result<ModelOutcome, String> {
    let periods = group(&job)?;
    let settings = job.settings.clone();
    let rows: Vec<(usize, String)> = periods
        .iter()
        .flat_map(|p| p.arms.keys().map(|arm| (p.first_row, arm.clone())))
        .collect();
    if !periods.is_empty()
        && !periods
            .iter()
            .any(|p| p.arms.contains_key(&settings.control))
    {
        let why = format!(
            "no row has the control arm `{}` in column `{}`",
            settings.control, settings.arm
        );
        return ModelOutcome::untrainable(job.spec, job.schema, why);
    }
    let time = job
        .features
        .column_by_name(&job.spec.time)
        .ok_or("the features query returned no time column")?;
    let time_values: Vec<String> = periods
        .iter()
        .map(|p| array_value_to_string(time, p.first_row).unwrap_or_default())
        .collect();
    let without_control: Vec<String> = periods
        .iter()
        .zip(&time_values)
        .filter(|(p, _)| !p.arms.contains_key(&settings.control))
        .map(|(_, t)| t.clone())
        .collect();
    let figures = tokio::task::spawn_blocking(move || {
        periods
            .iter()
            .zip(&time_values)
            .flat_map(|(p, t)| compare(&settings, p, t))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| format!("the experiment stopped: {e}"))?;

    let n = rows.len();
    let mut out: Vec<ArrayRef> = Vec::new();
    if let Some(ds) = job.ds {
        out.push(ds_column(ds, n));
    }
    let first_rows: Vec<usize> = rows.iter().map(|(r, _)| *r).collect();
    out.push(pick(time, &first_rows, job.schema, &job.spec.time)?);
    out.push(strings(rows.iter().map(|(_, a)| Some(a.clone())).collect()));
    out.push(Arc::new(BooleanArray::from(
        rows.iter()
            .map(|(_, a)| *a == job.settings.control)
            .collect::<Vec<_>>(),
    )));
    out.push(Arc::new(Int64Array::from(
        figures.iter().map(|(units, _)| *units).collect::<Vec<_>>(),
    )));
    for (m, _) in job.settings.metrics.iter().enumerate() {
        let f = |get: fn(&Figures) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from(
                figures
                    .iter()
                    .map(|(_, fs)| get(&fs[m]))
                    .collect::<Vec<_>>(),
            ))
        };
        out.push(Arc::new(Int64Array::from(
            figures.iter().map(|(_, fs)| fs[m].n).collect::<Vec<_>>(),
        )));
        out.push(f(|x| x.value));
        out.push(f(|x| x.low));
        out.push(f(|x| x.high));
        out.push(f(|x| x.diff));
        out.push(f(|x| x.diff_low));
        out.push(f(|x| x.diff_high));
        out.push(f(|x| x.p_value));
    }
    let batch = RecordBatch::try_new(job.schema.clone(), out).map_err(|e| e.to_string())?;
    let metrics_json = serde_json::json!({
        "stage": job.stage, "run_id": job.run_id, "ds": job.ds.map(|d| d.to_string()),
        "algorithm": "experiment", "arm": job.settings.arm, "control": job.settings.control,
        "metrics": job.settings.metrics.iter().map(|m| serde_json::json!({"name": m.name, "column": m.column, "kind": m.kind.name()})).collect::<Vec<_>>(),
        "confidence": job.settings.confidence, "resamples": job.settings.resamples,
        "seed": job.settings.seed, "rows": n,
    });
    store::save::<()>(job.wh, job.stage, job.run_id, &metrics_json, None).await?;
    let periods = first_rows
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let warning = if without_control.is_empty() {
        String::new()
    } else {
        format!(
            "; NO CONTROL in period {} (no differences there)",
            without_control.join(", ")
        )
    };
    let note = format!(
        "{periods} periods, {} arms (control `{}`){warning}",
        rows.iter()
            .map(|(_, a)| a.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        job.settings.control
    );
    Ok(ModelOutcome { batch, note })
}

/// The rows grouped by period and arm, with each metric's values checked.
fn group(job: &Job<'_, ExperimentSpec>) -> Result<Vec<Period>, String> {
    let b = job.features;
    let col = |name: &str| job.column(name);
    let time = col(&job.spec.time)?;
    let arm = col(&job.settings.arm)?;
    let ids = job.id_columns()?;
    let values: Vec<Vec<f64>> = job
        .settings
        .metrics
        .iter()
        .map(|m| as_f64(col(&m.column)?))
        .collect::<Result<_, _>>()?;
    let text = |a: &ArrayRef, row: usize| array_value_to_string(a, row).unwrap_or_default();
    let mut periods: Vec<Period> = Vec::new();
    let mut previous: Option<(String, Vec<String>)> = None;
    for row in 0..b.num_rows() {
        if time.is_null(row) {
            return Err(format!("time column `{}` is NULL on a row", job.spec.time));
        }
        if arm.is_null(row) {
            return Err(format!(
                "arm column `{}` is NULL on a row; every unit needs an arm",
                job.settings.arm
            ));
        }
        if let Some(i) = ids.iter().position(|a| a.is_null(row)) {
            return Err(format!(
                "id column `{}` is NULL on a row of arm {}; every unit needs an id",
                job.spec.id[i],
                text(arm, row)
            ));
        }
        let t = text(time, row);
        let unit: Vec<String> = ids.iter().map(|a| text(a, row)).collect();
        match &previous {
            Some((pt, pu)) if *pt == t && *pu == unit => {
                return Err(format!(
                    "unit ({}) has more than one row in period {t}; the features query must give one row per unit and period",
                    unit.join(", ")
                ));
            }
            Some((pt, _)) if *pt == t => {}
            _ => periods.push(Period {
                first_row: row,
                arms: BTreeMap::new(),
            }),
        }
        let period = periods.last_mut().ok_or("no period")?;
        let entry = period
            .arms
            .entry(text(arm, row))
            .or_insert_with(|| (0, vec![Vec::new(); job.settings.metrics.len()]));
        entry.0 += 1;
        for ((metric, column), out) in job.settings.metrics.iter().zip(&values).zip(&mut entry.1) {
            let v = column[row];
            if v.is_nan() {
                continue;
            }
            out.push(value_of(metric, v, &unit, &t)?);
        }
        previous = Some((t, unit));
    }
    Ok(periods)
}

/// A metric value as its class: 0/1 for a proportion, the NPS class for a score.
fn value_of(metric: &Metric, v: f64, unit: &[String], period: &str) -> Result<i8, String> {
    let bad = |expected: &str| {
        format!(
            "metric `{}`: column `{}` is {v} for unit ({}) in period {period}; {expected}",
            metric.name,
            metric.column,
            unit.join(", ")
        )
    };
    match metric.kind {
        MetricKind::Proportion if v == 0.0 || v == 1.0 => Ok(v as i8),
        MetricKind::Proportion => Err(bad("a proportion's values are TRUE/FALSE or 1/0")),
        MetricKind::Nps if v.fract() == 0.0 && (0.0..=10.0).contains(&v) => Ok(nps_class(v as i64)),
        MetricKind::Nps => Err(bad("an NPS score is a whole number from 0 to 10")),
    }
}

/// The generator of one (metric, period, arm, purpose).
fn seeded(seed: u64, metric: &str, period: &str, arm: &str, purpose: &str) -> Pcg64Mcg {
    let mut h = sha2::Sha256::new();
    for part in [
        &seed.to_le_bytes()[..],
        metric.as_bytes(),
        period.as_bytes(),
        arm.as_bytes(),
        purpose.as_bytes(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let d = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d[..16]);
    Pcg64Mcg::new(u128::from_le_bytes(bytes))
}

/// Every arm's output figures for one period, in arm order.
fn compare(s: &ExperimentSpec, p: &Period, period: &str) -> Vec<(i64, Vec<Figures>)> {
    let control = p.arms.get(&s.control);
    p.arms
        .iter()
        .map(|(arm, (units, values))| {
            let figures = s
                .metrics
                .iter()
                .enumerate()
                .map(|(m, metric)| {
                    let mine = &values[m];
                    let theirs = control
                        .filter(|_| *arm != s.control)
                        .map(|(_, v)| &v[m])
                        .filter(|v| !v.is_empty());
                    let at = Draws {
                        seed: s.seed,
                        metric: &metric.name,
                        period,
                    };
                    match metric.kind {
                        _ if mine.is_empty() => Figures::default(),
                        MetricKind::Proportion => proportion(s, mine, theirs),
                        MetricKind::Nps => net_promoter(s, &at, arm, mine, theirs),
                    }
                })
                .collect();
            (*units, figures)
        })
        .collect()
}

/// Where a metric's resampling draws come from: one generator per arm and purpose.
struct Draws<'a> {
    seed: u64,
    metric: &'a str,
    period: &'a str,
}

impl Draws<'_> {
    fn rng(&self, arm: &str, purpose: &str) -> Pcg64Mcg {
        seeded(self.seed, self.metric, self.period, arm, purpose)
    }
}

/// `scale * (a.0 / a.1 - b.0 / b.1)` rounded once: `scale * (a.0 * b.1 - b.0 * a.1) / (a.1 *
/// b.1)` in integers, then one division. So a difference that is exactly a threshold (6/10 -
/// 13/25 = 0.08; NPS 5/12 - 4/15 = 15 points) is the same double as the threshold written in the
/// pipeline, not 0.07999999999999996, and `>=` decides as the rule reads.
fn exact_difference(a: (i64, u64), b: (i64, u64), scale: i128) -> f64 {
    let numerator = scale * (i128::from(a.0) * i128::from(b.1) - i128::from(b.0) * i128::from(a.1));
    let denominator = i128::from(a.1) * i128::from(b.1);
    numerator as f64 / denominator as f64
}

/// Share, Wilson interval and, against the control's values, Newcombe's interval of the
/// difference and the two-proportion test. `mine` is not empty.
fn proportion(s: &ExperimentSpec, mine: &Values, theirs: Option<&Values>) -> Figures {
    let z = z_of(s.confidence);
    let count = |v: &Values| (v.iter().filter(|x| **x == 1).count() as u64, v.len() as u64);
    let signed = |c: (u64, u64)| (c.0 as i64, c.1);
    let a = count(mine);
    let share = |c: (u64, u64)| c.0 as f64 / c.1 as f64;
    let (low, high) = wilson(a.0, a.1, z);
    let mut f = Figures {
        n: mine.len() as i64,
        value: Some(share(a)),
        low: Some(low),
        high: Some(high),
        ..Figures::default()
    };
    if let Some(theirs) = theirs {
        let b = count(theirs);
        let (l, h) = newcombe(a, b, z);
        f.diff = Some(exact_difference(signed(a), signed(b), 1));
        (f.diff_low, f.diff_high) = (Some(l), Some(h));
        f.p_value = Some(two_proportion_p(a, b));
    }
    f
}

/// NPS, its bootstrap interval and, against the control's values, the bootstrap interval of the
/// difference and the permutation test. `mine` is not empty.
fn net_promoter(
    s: &ExperimentSpec,
    at: &Draws<'_>,
    arm: &str,
    mine: &Values,
    theirs: Option<&Values>,
) -> Figures {
    let (lo_q, hi_q) = ((1.0 - s.confidence) / 2.0, 1.0 - (1.0 - s.confidence) / 2.0);
    let draws = bootstrap_nps(mine, s.resamples, &mut at.rng(arm, "bootstrap"));
    let mut f = Figures {
        n: mine.len() as i64,
        value: nps(mine),
        low: quantile(&draws, lo_q),
        high: quantile(&draws, hi_q),
        ..Figures::default()
    };
    if let Some(theirs) = theirs {
        let control = bootstrap_nps(theirs, s.resamples, &mut at.rng(&s.control, "bootstrap"));
        let diffs: Vec<f64> = draws.iter().zip(&control).map(|(a, b)| a - b).collect();
        let sum = |v: &Values| (v.iter().map(|c| i64::from(*c)).sum::<i64>(), v.len() as u64);
        f.diff = Some(exact_difference(sum(mine), sum(theirs), 100));
        (f.diff_low, f.diff_high) = (quantile(&diffs, lo_q), quantile(&diffs, hi_q));
        let mut rng = at.rng(arm, "permutation");
        f.p_value = Some(permutation_p(mine, theirs, s.resamples, &mut rng));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::exact_difference;

    #[test]
    fn differences_that_equal_a_threshold_equal_it() {
        // 6/10 - 13/25 = 20/250 = 0.08 (the subtraction of doubles gives 0.07999999999999996).
        assert_eq!(exact_difference((6, 10), (13, 25), 1), 0.08);
        // NPS 100 * (5/12 - 4/15) = 100 * 27/180 = 15.
        assert_eq!(exact_difference((5, 12), (4, 15), 100), 15.0);
        assert_eq!(exact_difference((-3, 10), (2, 10), 100), -50.0);
    }
}
