//! Model stages (`kind: model`) on small planted data, run by the real binary: a random forest
//! recovers a planted rule (and a noise feature ranks at chance), its gate keeps the previous
//! model, an ETS forecast recovers a planted season; validation checks model settings against
//! the features query statically.

mod util;

use util::{Project, query_dir};

const DS: &str = "2026-11-21";

fn pipeline(model: &str, stage_extra: &str) -> String {
    format!(
        r#"name: models
sources:
  - name: seed_rows
    location: data/seeds/rows.csv
    format: csv
    columns: {{id: string, t: date, x_signal: double, x_noise: double, category: string, label: int}}
  - name: seed_sales
    location: data/seeds/sales.csv
    format: csv
    columns: {{category: string, month: date, revenue: double}}
stages:
  - name: dws_model
    layer: dws
    kind: model
    sql: sql/dws/dws_model.sql
{stage_extra}    model:
{model}
"#
    )
}

const FOREST: &str = "      algorithm: random_forest
      id: [id]
      time: t
      label: label
      baseline: x_noise
      params: {trees: 60, max_depth: 6, min_leaf: 3, feature_fraction: 1.0, seed: 11}
";

/// A deterministic stream in [0, 1) (a 64-bit LCG, Knuth's MMIX constants).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Six monthly cutoffs of 150 rows each; the label is 1 exactly when x_signal > 0.6 (planted),
/// x_noise is independent of it. The last cutoff (2026-11-21) has no labels: it is scored.
fn rows_csv() -> String {
    let mut r = Lcg(7);
    let mut out = String::from("id,t,x_signal,x_noise,category,label\n");
    let cutoffs = [
        "2026-06-01",
        "2026-07-01",
        "2026-08-01",
        "2026-09-01",
        "2026-10-01",
        DS,
    ];
    for (k, t) in cutoffs.iter().enumerate() {
        for i in 0..150 {
            let signal = r.next();
            let noise = r.next();
            let label = if k == cutoffs.len() - 1 {
                String::new()
            } else {
                u8::from(signal > 0.6).to_string()
            };
            out.push_str(&format!("c{i:03},{t},{signal:.4},{noise:.4},x,{label}\n"));
        }
    }
    out
}

/// Two categories over 48 months from 2022-11: `season` = 1000 + 300 sin(2 pi m / 12) plus
/// noise of at most +-20; `flat` = 500 plus the same noise.
fn sales_csv() -> String {
    let mut r = Lcg(3);
    let mut out = String::from("category,month,revenue\n");
    for m in 0..48u32 {
        let (y, mo) = (2022 + (10 + m) / 12, (10 + m) % 12 + 1);
        let noise = 40.0 * (r.next() - 0.5);
        let season = 1000.0 + 300.0 * (2.0 * std::f64::consts::PI * f64::from(m) / 12.0).sin();
        out.push_str(&format!("season,{y}-{mo:02}-01,{:.2}\n", season + noise));
        out.push_str(&format!("flat,{y}-{mo:02}-01,{:.2}\n", 500.0 + noise));
    }
    out
}

fn project(model: &str, sql: &str, stage_extra: &str) -> Project {
    let p = Project::new();
    p.write("pipelines/models.yaml", &pipeline(model, stage_extra));
    p.write("sql/dws/dws_model.sql", sql);
    p.write("data/seeds/rows.csv", &rows_csv());
    p.write("data/seeds/sales.csv", &sales_csv());
    p
}

const FOREST_SQL: &str = "SELECT id, t, x_signal, x_noise, label FROM seed_rows\n";

fn metrics(p: &Project) -> Vec<serde_json::Value> {
    let dir = p.path().join("warehouse/_meta/models/dws_model");
    let mut runs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs.iter()
        .map(|r| serde_json::from_slice(&std::fs::read(r.join("metrics.json")).unwrap()).unwrap())
        .collect()
}

async fn scored(p: &Project) -> Vec<(String, f64, Option<String>, String)> {
    let batches = query_dir(
        &p.path().join("warehouse/dws/dws_model"),
        "SELECT id, probability, top_feature_1, model_id FROM t ORDER BY id",
    )
    .await;
    let mut out = Vec::new();
    for b in &batches {
        let text = |c: usize, i: usize| {
            datafusion::arrow::util::display::array_value_to_string(b.column(c), i).unwrap()
        };
        for i in 0..b.num_rows() {
            let top = text(2, i);
            out.push((
                text(0, i),
                text(1, i).parse().unwrap(),
                (!top.is_empty()).then_some(top),
                text(3, i),
            ));
        }
    }
    out
}

#[tokio::test]
async fn forest_recovers_a_planted_rule_and_noise_ranks_at_chance() {
    let p = project(FOREST, FOREST_SQL, "");
    let out = p.strata(&["run", "--ds", DS]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let m = &metrics(&p)[0];
    // 4 training cutoffs x 150, the latest labelled cutoff (2026-10-01) held out, 150 scored.
    assert_eq!(m["training_rows"], 600);
    assert_eq!(m["holdout_rows"], 150);
    assert_eq!(m["scored_rows"], 150);
    let auc = m["auc"].as_f64().unwrap();
    let noise = m["baseline"]["auc"].as_f64().unwrap();
    assert!(auc > 0.97, "planted rule not recovered: AUC {auc}");
    assert!((0.35..0.65).contains(&noise), "noise AUC {noise}");
    assert_eq!(m["importance"][0]["feature"], "x_signal");
    assert_eq!(m["adopted"], true);
    // The summary line reports the figures.
    assert!(out.stdout.contains("holdout AUC"), "{}", out.stdout);

    // Scored rows: clear cases on either side of the planted threshold, explained by x_signal.
    let rows = scored(&p).await;
    assert_eq!(rows.len(), 150);
    let csv = rows_csv();
    let signal_of = |id: &str| -> f64 {
        csv.lines()
            .filter(|l| l.contains(DS) && l.starts_with(&format!("{id},")))
            .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
            .next()
            .unwrap()
    };
    for (id, prob, top, _) in &rows {
        let s = signal_of(id);
        if s > 0.7 {
            assert!(*prob >= 0.8, "{id} signal {s} probability {prob}");
            assert_eq!(top.as_deref(), Some("x_signal"), "{id}");
        } else if s < 0.5 {
            assert!(*prob <= 0.2, "{id} signal {s} probability {prob}");
        }
    }

    // The same seed and rows give the same probabilities on a forced rerun.
    let out = p.strata(&["run", "--ds", DS, "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let again = scored(&p).await;
    let probs = |r: &[(String, f64, Option<String>, String)]| {
        r.iter().map(|x| (x.0.clone(), x.1)).collect::<Vec<_>>()
    };
    assert_eq!(probs(&rows), probs(&again));
}

#[tokio::test]
async fn a_model_below_its_gate_keeps_the_previous_one() {
    // Without an earlier adopted model, an impossible gate fails the stage.
    // Another seed, so the rejected model differs from the kept one.
    let strict = FOREST.replace("seed: 11", "seed: 12")
        + "      gate: {min_auc: 1.0, min_precision_at_decile: 1.0}\n";
    let noise_only = "SELECT id, t, x_noise, label FROM seed_rows\n";
    let p = project(&strict, noise_only, "");
    let out = p.strata(&["run", "--ds", DS]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("below min_auc 1"), "{all}");
    assert!(all.contains("no earlier model"), "{all}");
    assert!(!p.path().join("warehouse/dws/dws_model").exists());

    // A first model adopted (no gate) ...
    let p = project(FOREST, FOREST_SQL, "");
    assert_eq!(p.strata(&["run", "--ds", DS]).code, 0);
    let first = scored(&p).await;
    let first_run = first[0].3.clone();
    // ... then a run whose model fails the gate scores with the first one.
    p.write("pipelines/models.yaml", &pipeline(&strict, ""));
    let out = p.strata(&["run", "--ds", DS]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("NOT ADOPTED"), "{}", out.stdout);
    let m = metrics(&p);
    assert_eq!(m.len(), 2);
    assert_eq!(m[1]["adopted"], false);
    assert_eq!(m[0]["model_id"].as_str(), Some(first_run.as_str()));
    assert_ne!(m[1]["model_id"], m[0]["model_id"]);
    let second = scored(&p).await;
    assert!(second.iter().all(|r| r.3 == first_run), "{second:?}");
    let probs = |r: &[(String, f64, Option<String>, String)]| {
        r.iter().map(|x| (x.0.clone(), x.1)).collect::<Vec<_>>()
    };
    assert_eq!(probs(&first), probs(&second));
}

#[tokio::test]
async fn ets_recovers_a_planted_season() {
    let model = "      algorithm: ets
      id: [category]
      time: month
      value: revenue
      horizon: 3
      levels: [0.8, 0.95]
      backtest: 6
";
    let p = project(
        model,
        "SELECT category, month, revenue FROM seed_sales\n",
        "",
    );
    let out = p.strata(&["run", "--ds", DS]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let batches = query_dir(
        &p.path().join("warehouse/dws/dws_model"),
        "SELECT category, CAST(month AS VARCHAR), forecast, lower_95, upper_95, lower_80, upper_80, model, backtest_mape, backtest_months FROM t ORDER BY 1, 2",
    )
    .await;
    let text = util::pretty(&batches);
    let b = &batches[0];
    assert_eq!(b.num_rows(), 6, "{text}");
    let f = |c: usize, i: usize| -> String {
        datafusion::arrow::util::display::array_value_to_string(b.column(c), i).unwrap()
    };
    // Months 48, 49, 50 of the planted series: 2026-11, 2026-12, 2027-01.
    for i in 0..6 {
        let category = f(0, i);
        let step = (i % 3) as f64;
        let truth = if category == "season" {
            1000.0 + 300.0 * (2.0 * std::f64::consts::PI * (48.0 + step) / 12.0).sin()
        } else {
            500.0
        };
        let point: f64 = f(2, i).parse().unwrap();
        let (lo, hi): (f64, f64) = (f(3, i).parse().unwrap(), f(4, i).parse().unwrap());
        let (lo80, hi80): (f64, f64) = (f(5, i).parse().unwrap(), f(6, i).parse().unwrap());
        assert!((point - truth).abs() < 0.06 * truth, "{text}");
        assert!(lo <= truth && truth <= hi, "{text}");
        assert!(
            lo <= lo80 && lo80 <= point && point <= hi80 && hi80 <= hi,
            "{text}"
        );
        let mape: f64 = f(8, i).parse().unwrap();
        assert!(mape < 5.0, "{text}");
        assert_eq!(f(9, i), "6", "{text}");
        if category == "season" {
            assert!(!f(7, i).ends_with('N'), "seasonal model expected: {text}");
        }
    }
    let months: Vec<String> = (0..3).map(|i| f(1, i)).collect();
    assert_eq!(months, ["2026-11-01", "2026-12-01", "2027-01-01"], "{text}");
}

#[test]
fn validate_checks_model_settings_against_the_features_query() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            &FOREST.replace("label: label", "label: labl"),
            FOREST_SQL,
            &[
                "no column `labl`",
                "did you mean `label`",
                "pipelines/models.yaml:",
            ],
        ),
        (
            FOREST,
            "SELECT id, t, x_signal, category, label FROM seed_rows\n",
            &["feature column `category` is Utf8"],
        ),
        (
            FOREST,
            "SELECT id, t, x_signal, x_noise, CAST(label AS VARCHAR) AS label FROM seed_rows\n",
            &["`label` column `label` is Utf8"],
        ),
        (
            &FOREST.replace("random_forest", "gradient_boosting"),
            FOREST_SQL,
            &["expected `random_forest`, `ets` or `experiment`"],
        ),
        (
            &FOREST.replace("trees: 60", "trees: many"),
            FOREST_SQL,
            &["trees"],
        ),
        (
            "      algorithm: ets\n      id: [category]\n      time: month\n      value: revenue\n      params: {spec: MMN}\n",
            "SELECT category, month, revenue FROM seed_sales\n",
            &["`spec`", "multiplicative trend", "unseeded simulation"],
        ),
        (
            &(FOREST.to_string() + "      gate: {min_auc: 1.5}\n"),
            FOREST_SQL,
            &["min_auc", "at most 1"],
        ),
    ];
    for (model, sql, expected) in cases {
        let p = project(model, sql, "");
        let out = p.strata(&["validate"]);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_eq!(out.code, 1, "{all}");
        for e in *expected {
            assert!(all.contains(e), "expected {e:?} in:\n{all}");
        }
    }
    let ok = project(FOREST, FOREST_SQL, "");
    let out = ok.strata(&["validate"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

#[test]
fn an_id_with_two_rows_to_score_is_refused() {
    // c000 has no label at 2026-06-01 as well as at the scoring cutoff: two rows to score and
    // no time column in the output to tell them apart.
    let rows = rows_csv();
    let first = rows.lines().nth(1).unwrap().to_string();
    let unlabelled = format!("{},", first.rsplit_once(',').unwrap().0);
    let p = project(FOREST, FOREST_SQL, "");
    p.write("data/seeds/rows.csv", &rows.replace(&first, &unlabelled));
    let out = p.strata(&["run", "--ds", DS]);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_ne!(out.code, 0, "{all}");
    assert!(
        all.contains("id (c000) has more than one row to score (label NULL)"),
        "{all}"
    );
}
