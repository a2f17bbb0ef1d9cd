//! Plan experiments (`kind: model`, `algorithm: experiment`) on a small hand-made table, run by
//! the real binary: the figures against hand computations, reruns bit-identical, and bad
//! settings or values refused with the column, unit and fix named.

mod util;

use util::{Project, pretty, query_dir};

const MODEL: &str = "      algorithm: experiment
      id: [unit]
      time: period
      arm: arm
      control: A
      metrics:
        nps: {column: score, kind: nps}
        renewal_rate: {column: renewed, kind: proportion}
      params: {confidence: 0.95, resamples: 2000, seed: 5}
";

const SQL: &str = "SELECT unit, period, arm, score, renewed FROM seed_units\n";

fn pipeline(model: &str) -> String {
    format!(
        r#"name: experiment
sources:
  - name: seed_units
    location: data/seeds/units.csv
    format: csv
    columns: {{unit: string, period: bigint, arm: string, score: bigint, renewed: boolean}}
stages:
  - name: dws_plan
    layer: dws
    kind: model
    sql: sql/dws/dws_plan.sql
    model:
{model}"#
    )
}

/// Period 1: plan A's ten units renewed 4 of 10 and scored 10, 10, 9, 8, 7, 6, 5, 3 (two
/// without a score): 3 promoters, 3 detractors of 8, NPS 0. Plan B's ten renewed 8 of 10 and
/// scored 10, 10, 10, 9, 9, 8, 7, 2: 5 promoters, 1 detractor of 8, NPS 50.
/// Period 2: plan A only (its first three units).
fn units_csv() -> String {
    let a_scores = ["10", "10", "9", "8", "7", "6", "5", "3", "", ""];
    let b_scores = ["10", "10", "10", "9", "9", "8", "7", "2", "", ""];
    let mut out = String::from("unit,period,arm,score,renewed\n");
    for i in 0..10 {
        out.push_str(&format!("a{i},1,A,{},{}\n", a_scores[i], i < 4));
        out.push_str(&format!("b{i},1,B,{},{}\n", b_scores[i], i < 8));
    }
    for i in 0..3 {
        out.push_str(&format!("a{i},2,A,9,true\n"));
    }
    out
}

fn project(model: &str, sql: &str, csv: &str) -> Project {
    let p = Project::new();
    p.write("pipelines/experiment.yaml", &pipeline(model));
    p.write("sql/dws/dws_plan.sql", sql);
    p.write("data/seeds/units.csv", csv);
    p
}

async fn output(p: &Project, sql: &str) -> String {
    pretty(&query_dir(&p.path().join("warehouse/dws/dws_plan"), sql).await)
}

fn close(text: &str, expected: f64) {
    let v: f64 = text.trim().parse().unwrap_or_else(|_| panic!("{text:?}"));
    assert!((v - expected).abs() < 5e-5, "{v} vs {expected}");
}

#[tokio::test]
async fn figures_match_hand_computations_and_reruns_are_identical() {
    let p = project(MODEL, SQL, &units_csv());
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("2 periods, 2 arms (control `A`)"),
        "{}",
        out.stdout
    );
    let rows = output(
        &p,
        "SELECT period, arm, is_control, units, nps_n, nps, renewal_rate_n, renewal_rate, nps_diff IS NULL AS no_diff FROM t ORDER BY period, arm",
    )
    .await;
    for line in [
        "| 1      | A   | true       | 10    | 8     | 0.0   | 10             | 0.4          | true    |",
        "| 1      | B   | false      | 10    | 8     | 50.0  | 10             | 0.8          | false   |",
        "| 2      | A   | true       | 3     | 3     | 100.0 | 3              | 1.0          | true    |",
    ] {
        assert!(rows.contains(line), "{line}\n{rows}");
    }
    // Wilson 95% intervals by hand (z = 1.959964): 4/10 -> 0.168180 .. 0.687326,
    // 8/10 -> 0.490162 .. 0.943318. Newcombe's hybrid interval of 0.8 - 0.4:
    // 0.4 -+ sqrt((0.8 - 0.490162)^2 + (0.687326 - 0.4)^2) and sqrt((0.943318 - 0.8)^2 +
    // (0.4 - 0.168180)^2): -0.022558 .. 0.672544. Pooled z-test: p = 12/20, se =
    // sqrt(0.6 * 0.4 * (1/10 + 1/10)) = 0.219089, z = 1.825742, two-sided p = 0.067889.
    let b = output(
        &p,
        "SELECT renewal_rate_low, renewal_rate_high, renewal_rate_diff, renewal_rate_diff_low, renewal_rate_diff_high, renewal_rate_p_value, nps_diff, nps_low, nps_high, nps_diff_low, nps_diff_high, nps_p_value FROM t WHERE arm = 'B'",
    )
    .await;
    let cells: Vec<&str> = b.lines().nth(3).unwrap().split('|').collect();
    let expected = [0.490162, 0.943318, 0.4, -0.022558, 0.672544, 0.067889, 50.0];
    for (cell, e) in cells[1..8].iter().zip(expected) {
        close(cell, e);
    }
    // The bootstrap interval holds the estimate and the permutation p-value is a probability
    // above 1/2001; with eight scores a side NPS 50 against 0 is not significant at 5%.
    let f = |i: usize| -> f64 { cells[i].trim().parse().unwrap() };
    assert!(f(8) <= 50.0 && 50.0 <= f(9), "{b}");
    assert!(f(10) <= 50.0 && 50.0 <= f(11), "{b}");
    assert!(f(12) > 0.05 && f(12) <= 1.0, "{b}");

    // The same seed and rows give the same figures.
    let before = output(&p, "SELECT * FROM t ORDER BY period, arm").await;
    let again = p.strata(&["run", "--ds", "2026-11-21", "--force"]);
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    assert_eq!(
        output(&p, "SELECT * FROM t ORDER BY period, arm").await,
        before
    );
    let metrics = std::fs::read_dir(p.path().join("warehouse/_meta/models/dws_plan")).unwrap();
    assert_eq!(metrics.count(), 2);
}

#[test]
fn a_period_without_the_control_is_named_in_the_summary() {
    let p = project(
        MODEL,
        SQL,
        &(units_csv() + "b0,3,B,9,true\nb1,3,B,10,true\n"),
    );
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "3 periods, 2 arms (control `A`); NO CONTROL in period 3 (no differences there)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn bad_settings_are_refused_statically() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            &MODEL.replace("arm: arm", "arm: plan"),
            SQL,
            &[
                "no column `plan` (model `arm`)",
                "pipelines/experiment.yaml:",
            ],
        ),
        (
            &MODEL.replace("kind: nps", "kind: mean"),
            SQL,
            &["expected `proportion`", "`kind`"],
        ),
        (
            MODEL,
            "SELECT unit, period, arm, CAST(score AS DOUBLE) AS score, renewed FROM seed_units\n",
            &[
                "metric `nps`: column `score` is Float64",
                "an integer score from 0 to 10",
            ],
        ),
        (
            MODEL,
            "SELECT unit, period, arm, score, renewed, 1 AS extra FROM seed_units\n",
            &["column `extra`", "drop it"],
        ),
        (
            MODEL,
            "SELECT unit, period, CAST(1 AS BIGINT) AS arm, score, renewed FROM seed_units\n",
            &["`arm` column `arm` is Int64", "string"],
        ),
        (
            &MODEL.replace("control: A", "control: A\n      label: renewed"),
            SQL,
            &["`label` is not a setting of algorithm `experiment`"],
        ),
        (
            &MODEL.replace("resamples: 2000", "resamples: 10"),
            SQL,
            &["resamples", "between 100 and 100000"],
        ),
        (
            &MODEL.replace("        nps: {", "        NPS score: {"),
            SQL,
            &["lower-case letters, digits and `_`"],
        ),
        (
            &MODEL.replace("resamples: 2000", "resamples: 0"),
            SQL,
            &["resamples", "between 100 and 100000"],
        ),
        (
            &MODEL.replace("confidence: 0.95", "confidence: .nan"),
            SQL,
            &["confidence", "must be a finite number"],
        ),
        (
            &MODEL.replace("confidence: 0.95", "confidence: 1"),
            SQL,
            &["confidence", "greater than 0 and less than 1"],
        ),
        (
            &MODEL
                .replace("        nps: {column: score, kind: nps}\n", "")
                .replace(
                    "        renewal_rate: {column: renewed, kind: proportion}\n",
                    "",
                )
                .replace("      metrics:\n", "      metrics: {}\n"),
            SQL,
            &["needs at least one metric"],
        ),
        (
            MODEL,
            "SELECT unit, CAST(months_elapsed(CAST('2026-01-01' AS TIMESTAMP), DATE '2026-03-01') AS BIGINT) AS period, arm, score, renewed FROM seed_units\n",
            &[
                "months_elapsed(from, to) takes two DATEs",
                "business_date(ts)",
            ],
        ),
    ];
    for (model, sql, expected) in cases {
        let p = project(model, sql, &units_csv());
        let out = p.strata(&["validate"]);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_eq!(out.code, 1, "{model}\n{all}");
        for e in *expected {
            assert!(all.contains(e), "expected {e:?} in:\n{all}");
        }
    }
}

#[test]
fn bad_values_fail_the_stage_naming_the_unit() {
    let cases: &[(String, &[&str])] = &[
        (
            units_csv().replace("a0,1,A,10,", "a0,1,A,11,"),
            &[
                "metric `nps`: column `score` is 11 for unit (a0) in period 1",
                "0 to 10",
            ],
        ),
        (
            units_csv() + "a1,2,A,9,true\n",
            &["unit (a1) has more than one row in period 2"],
        ),
        (
            units_csv().replace(",A,", ",X,"),
            &["no row has the control arm `A` in column `arm`"],
        ),
        (
            units_csv().replace("b3,1,B,", ",1,B,"),
            &["id column `unit` is NULL on a row of arm B"],
        ),
    ];
    for (csv, expected) in cases {
        let p = project(MODEL, SQL, csv);
        let out = p.strata(&["run", "--ds", "2026-11-21"]);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_ne!(out.code, 0, "{all}");
        assert!(all.contains("dws_plan"), "{all}");
        for e in *expected {
            assert!(all.contains(e), "expected {e:?} in:\n{all}");
        }
    }
}
