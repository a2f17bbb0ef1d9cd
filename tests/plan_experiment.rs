//! Seed 000's plan experiment end to end on generated data, run by the real binary. The
//! generator plants an effect of plan B from each customer's plan start
//! (`strata::generate::PLAN_B_RENEWAL_RATE` 0.95 instead of `BASE_RENEWAL_RATE` 0.8 for
//! customers who do not churn, and `PLAN_B_NPS_LIFT` 1.5 points on the latent NPS score):
//! `ads_cs_plan_experiment` detects it at six months and decides to roll plan B out. On an A/A
//! split (plan A's customers divided in two by a hash of their assignment id, plan B's left
//! out) it detects nothing.

mod util;

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use util::crm_fixture::{rows, warehouse_context};
use util::ods::crm_project;

const DS: &str = "2026-11-21";

fn generated() -> util::Project {
    let p = crm_project();
    let out = p.strata(&[
        "generate",
        "crm",
        "--customers",
        "20000",
        "--days",
        "395",
        "--seed",
        "42",
        "--end-date",
        DS,
        "--out",
        "data/ods",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    p
}

fn run(p: &util::Project) {
    let out = p.strata(&["run", "--ds", DS, "--select", "+ads_cs_plan_experiment"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("0 failed, 0 blocked by checks"),
        "{}",
        out.stdout
    );
}

/// `months_since_start | nps_diff | low | high | nps_p | renewal_diff | low | high | renewal_p
/// | decision` of the plan-B rows, months 1-8.
async fn b_rows(p: &util::Project) -> Vec<Vec<String>> {
    let ctx = warehouse_context(&p.path().join("warehouse")).await;
    rows(
        &ctx,
        "SELECT CAST(months_since_start AS VARCHAR) || '|' || CAST(nps_diff AS VARCHAR) || '|' || CAST(nps_diff_low AS VARCHAR) || '|' || CAST(nps_diff_high AS VARCHAR) || '|' || CAST(nps_p_value AS VARCHAR) || '|' || CAST(renewal_rate_diff AS VARCHAR) || '|' || CAST(renewal_rate_diff_low AS VARCHAR) || '|' || CAST(renewal_rate_diff_high AS VARCHAR) || '|' || CAST(renewal_rate_p_value AS VARCHAR) || '|' || decision FROM ads_cs_plan_experiment WHERE plan = 'B' AND months_since_start <= 8 ORDER BY months_since_start",
    )
    .await
    .into_iter()
    .map(|r| r.split('|').map(str::to_string).collect())
    .collect()
}

fn num(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("{s:?}"))
}

#[tokio::test]
async fn the_planted_plan_effect_is_detected_at_six_months() {
    let p = generated();
    run(&p);
    let b = b_rows(&p).await;
    assert_eq!(b.len(), 8, "{b:?}");
    for row in &b {
        let month = num(&row[0]);
        // The decision waits for month 6.
        if month < 6.0 {
            assert_eq!(row[9], "too_early", "{row:?}");
            continue;
        }
        // From month 6 (months 6 to 8 have at least 400 customers a plan) both differences
        // are positive with intervals clear of 0, above the rule's thresholds, and B rolls out.
        assert_eq!(row[9], "roll_out", "{row:?}");
        assert!(num(&row[2]) > 0.0 && num(&row[1]) >= 15.0, "{row:?}");
        assert!(num(&row[4]) < 0.01, "{row:?}");
        assert!(num(&row[6]) > 0.0 && num(&row[5]) >= 0.08, "{row:?}");
        assert!(num(&row[8]) < 0.01, "{row:?}");
    }
}

/// Keep plan A's assignments only and call those whose assignment id hashes odd (FNV-1a) `B`.
fn a_a_split(dir: &std::path::Path) {
    for partition in std::fs::read_dir(dir).unwrap() {
        let file = partition.unwrap().path().join("part-0.parquet");
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&file).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let schema = batches[0].schema();
        let mut kept = Vec::new();
        for b in &batches {
            let plan = b.column_by_name("plan").unwrap().as_string::<i32>();
            let is_a = (0..b.num_rows())
                .map(|i| Some(plan.value(i) == "A"))
                .collect();
            let only_a = filter_record_batch(b, &is_a).unwrap();
            let ids = only_a
                .column_by_name("assignment_id")
                .unwrap()
                .as_string::<i32>();
            let relabelled: StringArray = (0..only_a.num_rows())
                .map(|i| {
                    let h = ids.value(i).bytes().fold(0xcbf29ce484222325u64, |h, c| {
                        (h ^ u64::from(c)).wrapping_mul(0x100000001b3)
                    });
                    Some(if h % 2 == 1 { "B" } else { "A" })
                })
                .collect();
            let idx = schema.index_of("plan").unwrap();
            let mut columns = only_a.columns().to_vec();
            columns[idx] = Arc::new(relabelled);
            kept.push(RecordBatch::try_new(schema.clone(), columns).unwrap());
        }
        let mut w =
            ArrowWriter::try_new(std::fs::File::create(&file).unwrap(), schema, None).unwrap();
        for b in &kept {
            w.write(b).unwrap();
        }
        w.close().unwrap();
    }
}

#[tokio::test]
async fn an_a_a_split_detects_nothing() {
    let p = generated();
    a_a_split(&p.path().join("data/ods/ods_cs_plan"));
    run(&p);
    let ctx = warehouse_context(&p.path().join("warehouse")).await;
    let arms = rows(
        &ctx,
        "SELECT plan || ':' || CAST(customers AS VARCHAR) FROM ads_cs_plan_experiment WHERE months_since_start = 6 ORDER BY plan",
    )
    .await;
    assert_eq!(arms.len(), 2, "{arms:?}");
    let b = b_rows(&p).await;
    assert!(!b.is_empty());
    for row in &b {
        assert_ne!(row[9], "roll_out", "{row:?}");
    }
    // At six months, neither difference is significant at the rule's 5%.
    let six = b.iter().find(|r| r[0] == "6").unwrap();
    assert!(num(&six[4]) >= 0.05 && num(&six[8]) >= 0.05, "{six:?}");
}
