//! Exponential-smoothing forecasts for model stages (`algorithm: ets`).
//!
//! - One series per distinct value of the id columns; one value per month (the `time` column
//!   holds the first day of each month, consecutive, no gaps: the features query writes 0 for a
//!   month without sales).
//! - The model is augurs' automatic ETS (Hyndman et al., *Forecasting with Exponential
//!   Smoothing*, 2008: every error/trend combination of `spec` fitted, the lowest AICc kept).
//!   augurs' ETS has no seasonal forms, so when `spec`'s season letter is not `N` and the series
//!   holds at least two seasons, it is decomposed by MSTL (Bandara et al. 2021) and the ETS
//!   smooths the deseasonalized trend (augurs-mstl, its documented route to seasonality).
//!   Shorter series get the largest non-seasonal form they allow (augurs needs more
//!   observations than parameters + 4): `spec` without season, then level only.
//! - `horizon` months are forecast after the last one, with prediction intervals at each of
//!   `levels`.
//! - Backtest: for each of the last `backtest` months, a model fitted on the months before it
//!   forecasts it one step ahead (rolling origin); the absolute percentage errors of the months
//!   that could be fitted and have a non-zero actual are averaged into `backtest_mape`
//!   (percent), with `backtest_months` counting them. Both are output columns, so an ordinary
//!   check gates publication on them; the run's figures also go to `_meta/models/`.

use std::collections::BTreeMap;
use std::sync::Arc;

use augurs_core::{Fit, Predict};
use augurs_ets::AutoETS;
use augurs_mstl::MSTLModel;
use chrono::{Datelike, Months, NaiveDate};
use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch,
};
use datafusion::arrow::util::display::array_value_to_string;

use super::{Job, ModelOutcome, as_f64, ds_column, pick, store, strings};
use crate::model::model_spec::EtsSpec;

/// A fitted series model and its name (`AAN`; `STL(12)+ETS(ZZN)` for a seasonal one).
struct Fitted {
    model: FittedKind,
    name: String,
}

enum FittedKind {
    Ets(augurs_ets::FittedAutoETS),
    Mstl(augurs_mstl::FittedMSTLModel),
}

impl Fitted {
    fn predict(&self, horizon: usize, level: Option<f64>) -> Result<augurs_core::Forecast, String> {
        match &self.model {
            FittedKind::Ets(m) => m.predict(horizon, level).map_err(|e| e.to_string()),
            FittedKind::Mstl(m) => m.predict(horizon, level).map_err(|e| e.to_string()),
        }
    }
}

/// Fit the widest form of `spec` that `y` allows: with a season letter other than `N` and at
/// least two full seasons, MSTL with ETS on its trend; otherwise ETS of the error and trend
/// letters, then level only. (augurs' ETS has no seasonal forms of its own.)
fn fit(spec: &EtsSpec, y: &[f64]) -> Result<Fitted, String> {
    let (error, trend, season) = (&spec.spec[0..1], &spec.spec[1..2], &spec.spec[2..3]);
    let ets = format!("{error}{trend}N");
    let mut last = String::new();
    if season != "N" && spec.season_length > 1 && y.len() >= 2 * spec.season_length {
        let trend_model = AutoETS::new(1, ets.as_str())
            .map_err(|e| e.to_string())?
            .into_trend_model();
        match MSTLModel::new(vec![spec.season_length], trend_model).fit(y) {
            Ok(model) => {
                return Ok(Fitted {
                    model: FittedKind::Mstl(model),
                    name: format!("STL({})+ETS({ets})", spec.season_length),
                });
            }
            Err(e) => last = format!("STL({}) on {} months: {e}", spec.season_length, y.len()),
        }
    }
    let mut tries = vec![ets.clone()];
    if trend != "N" {
        tries.push(format!("{error}NN"));
    }
    for family in tries {
        let auto = AutoETS::new(1, family.as_str()).map_err(|e| e.to_string())?;
        match auto.fit(y) {
            Ok(model) => {
                let name = model.model().model_type().to_string();
                return Ok(Fitted {
                    model: FittedKind::Ets(model),
                    name,
                });
            }
            Err(e) => last = format!("ETS {family} on {} months: {e}", y.len()),
        }
    }
    Err(last)
}

/// Forecast, backtest and write the output rows; see the module docs.
pub async fn run(job: Job<'_, EtsSpec>) -> Result<ModelOutcome, String> {
    let b = job.features;
    let col = |name: &str| job.column(name);
    let time_col = col(&job.spec.time)?;
    let times = time_col
        .as_any()
        .downcast_ref::<Date32Array>()
        .ok_or("the time column is not DATE")?;
    let values = as_f64(col(&job.settings.value)?)?;
    let ids = job.id_columns()?;
    // Series in the order of their id text; each keeps its rows in time order.
    let mut series: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
    for row in 0..b.num_rows() {
        let key = ids
            .iter()
            .map(|a| array_value_to_string(a, row).unwrap_or_default())
            .collect();
        series.entry(key).or_default().push(row);
    }
    let date = |row: usize| -> Result<NaiveDate, String> {
        times
            .value_as_date(row)
            .filter(|_| !times.is_null(row))
            .ok_or_else(|| format!("time `{}` is NULL", job.spec.time))
    };
    let spec = job.settings.clone();
    let mut prepared = Vec::new();
    for (key, rows) in &series {
        let label = key.join("/");
        let mut months = Vec::with_capacity(rows.len());
        let mut y = Vec::with_capacity(rows.len());
        for r in rows {
            let d = date(*r)?;
            if d.day() != 1 {
                return Err(format!(
                    "series {label}: time {d} is not the first day of a month"
                ));
            }
            if let Some(prev) = months.last()
                && Some(d) != add_months(*prev, 1)
            {
                return Err(format!(
                    "series {label}: month {d} follows {prev}; every month must be present once (0 for a month without sales)"
                ));
            }
            if values[*r].is_nan() {
                return Err(format!(
                    "series {label}: `{}` is NULL for {d}",
                    job.settings.value
                ));
            }
            months.push(d);
            y.push(values[*r]);
        }
        prepared.push((label, rows[0], months, y));
    }
    let results = tokio::task::spawn_blocking(move || {
        prepared
            .into_iter()
            .map(|(label, first, months, y)| {
                forecast_series(&spec, &y)
                    .map(|out| (label.clone(), first, months, out))
                    .map_err(|e| format!("series {label}: {e}"))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| format!("forecasting stopped: {e}"))?;
    // A series that cannot be fitted fails the stage, or with `when_untrainable: empty` is
    // left out and named in the summary.
    let mut computed = Vec::with_capacity(results.len());
    let mut unfitted = Vec::new();
    for r in results {
        match (r, job.spec.when_untrainable) {
            (Ok(c), _) => computed.push(c),
            (Err(e), crate::model::model_spec::Untrainable::Empty) => unfitted.push(e),
            (Err(e), crate::model::model_spec::Untrainable::Fail) => return Err(e),
        }
    }

    let h = job.settings.horizon;
    let n = computed.len() * h;
    let mut first_rows = Vec::with_capacity(n);
    let mut month_days = Vec::with_capacity(n);
    let mut point = Vec::with_capacity(n);
    let mut bounds: Vec<Bounds> =
        vec![(Vec::with_capacity(n), Vec::with_capacity(n)); job.settings.levels.len()];
    let mut model_names = Vec::with_capacity(n);
    let mut mapes = Vec::with_capacity(n);
    let mut counts = Vec::with_capacity(n);
    let mut per_series = Vec::new();
    let (mut ape_sum, mut ape_n) = (0.0, 0usize);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("epoch")?;
    for (label, first, months, out) in &computed {
        let last = *months.last().ok_or("empty series")?;
        for step in 0..h {
            first_rows.push(*first);
            let m = add_months(last, step as u32 + 1).ok_or("month out of range")?;
            month_days.push((m - epoch).num_days() as i32);
            point.push(out.point[step]);
            for (l, (lo, hi)) in bounds.iter_mut().enumerate() {
                lo.push(out.intervals[l].as_ref().map(|(a, _)| a[step]));
                hi.push(out.intervals[l].as_ref().map(|(_, b)| b[step]));
            }
            model_names.push(Some(out.model.clone()));
            mapes.push(out.mape());
            counts.push(out.apes.len() as i64);
        }
        ape_sum += out.apes.iter().sum::<f64>();
        ape_n += out.apes.len();
        per_series.push(serde_json::json!({
            "series": label, "months": months.len(), "model": out.model,
            "backtest_mape": out.mape(), "backtest_months": out.apes.len(),
        }));
    }
    let overall = (ape_n > 0).then(|| 100.0 * ape_sum / ape_n as f64);
    let metrics_json = serde_json::json!({
        "stage": job.stage, "run_id": job.run_id, "ds": job.ds.map(|d| d.to_string()),
        "algorithm": "ets", "spec": job.settings.spec, "season_length": job.settings.season_length,
        "horizon": h, "levels": job.settings.levels, "backtest": job.settings.backtest,
        "backtest_mape": overall, "backtest_months": ape_n, "series": per_series,
        "not_fitted": unfitted, "adopted": true,
    });
    store::save::<()>(job.wh, job.stage, job.run_id, &metrics_json, None).await?;
    let mut out: Vec<ArrayRef> = Vec::new();
    if let Some(ds) = job.ds {
        out.push(ds_column(ds, n));
    }
    for (id, name) in ids.iter().zip(&job.spec.id) {
        out.push(pick(id, &first_rows, job.schema, name)?);
    }
    out.push(Arc::new(Date32Array::from(month_days)));
    out.push(Arc::new(Float64Array::from(point)));
    for (lo, hi) in bounds {
        out.push(Arc::new(Float64Array::from(lo)));
        out.push(Arc::new(Float64Array::from(hi)));
    }
    out.push(strings(model_names));
    out.push(Arc::new(Float64Array::from(mapes)));
    out.push(Arc::new(Int64Array::from(counts)));
    let batch = RecordBatch::try_new(job.schema.clone(), out).map_err(|e| e.to_string())?;
    let note = format!(
        "{} series, {h} months ahead; backtest MAPE {} over {ape_n} series-months",
        computed.len(),
        overall.map_or("n/a".to_string(), |m| format!("{m:.1}%"))
    );
    let note = if unfitted.is_empty() {
        note
    } else {
        format!(
            "{note}; {} series NOT FITTED ({})",
            unfitted.len(),
            unfitted.join("; ")
        )
    };
    Ok(ModelOutcome { batch, note })
}

/// Lower and upper interval bounds of every output row, for one level.
type Bounds = (Vec<Option<f64>>, Vec<Option<f64>>);

/// One series' forecast and backtest.
struct SeriesForecast {
    point: Vec<f64>,
    /// Per level: lower and upper bounds, when the model gives intervals.
    intervals: Vec<Option<(Vec<f64>, Vec<f64>)>>,
    model: String,
    /// Absolute percentage errors (fractions) of the backtest months evaluated.
    apes: Vec<f64>,
}

impl SeriesForecast {
    fn mape(&self) -> Option<f64> {
        (!self.apes.is_empty())
            .then(|| 100.0 * self.apes.iter().sum::<f64>() / self.apes.len() as f64)
    }
}

fn forecast_series(spec: &EtsSpec, y: &[f64]) -> Result<SeriesForecast, String> {
    let fitted = fit(spec, y)?;
    let mut point = Vec::new();
    let mut intervals = Vec::new();
    for level in &spec.levels {
        let f = fitted.predict(spec.horizon, Some(*level))?;
        point = f.point;
        intervals.push(f.intervals.map(|i| (i.lower, i.upper)));
    }
    let mut apes = Vec::new();
    for t in y.len().saturating_sub(spec.backtest)..y.len() {
        if y[t] == 0.0 {
            continue;
        }
        let Ok(m) = fit(spec, &y[..t]) else { continue };
        if let Ok(f) = m.predict(1, None) {
            apes.push(((y[t] - f.point[0]) / y[t]).abs());
        }
    }
    Ok(SeriesForecast {
        point,
        intervals,
        model: fitted.name,
        apes,
    })
}

fn add_months(d: NaiveDate, n: u32) -> Option<NaiveDate> {
    d.checked_add_months(Months::new(n))
}
