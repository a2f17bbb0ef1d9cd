//! The DWD layer on the committed sample: deduplication against the generator's ground truth,
//! exact reconciliation for every ODS table, and rejects equal to the rows the generator made
//! invalid on purpose. Landed counts are recomputed here from the ODS files directly.

mod util;

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use util::crm_fixture::copy_tree;
use util::ods::crm_project;
use util::pretty;

#[tokio::test]
#[allow(clippy::print_stderr)]
async fn sample_dwd_matches_the_ground_truth() {
    let root = util::repo_root();
    let p = crm_project();
    copy_tree(&root.join("data/ods"), &p.path().join("data/ods"));
    let out = p.strata(&[
        "run",
        "pipelines/crm.yaml",
        "--ds",
        "2026-11-21",
        "--select",
        "+dwd_reconciliation",
        "+dwd_customer",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // The reconciliation is a line of the run summary too.
    assert!(
        out.stdout
            .contains("  dwd_reconciliation: reconciliation: ")
            && out.stdout.contains(" 11 of 11 tables balance"),
        "{}",
        out.stdout
    );
    let wh = p.path().join("warehouse");

    let s = strata::app::quality::pairwise_scores(
        &wh.join("dwd/dwd_customer_source_map"),
        &root.join("data/truth/customer_truth.parquet"),
    )
    .await
    .unwrap();
    eprintln!(
        "committed sample: precision {:.4} recall {:.4} ({} true pairs)",
        s.precision, s.recall, s.true_pairs
    );
    assert!(s.precision >= 0.98 && s.recall >= 0.98, "{s:?}");
    assert!(s.true_pairs > 1000, "the sample has real duplicates: {s:?}");

    // Landed rows per ODS table, counted from the files, must equal what reconciliation used,
    // and every table must balance.
    let ctx = SessionContext::new();
    let tables = [
        "ods_crm_customer",
        "ods_shop_customer",
        "ods_erp_customer",
        "ods_order",
        "ods_interaction",
        "ods_survey",
        "ods_contract",
        "ods_product_usage",
        "ods_competitor_signal",
        "ods_lead",
        "ods_cs_plan",
    ];
    let mut expected = Vec::new();
    for t in tables {
        let dir = format!("{}/", root.join("data/ods").join(t).display());
        let df = ctx
            .read_parquet(dir, ParquetReadOptions::default())
            .await
            .unwrap();
        expected.push(format!("{t}={}", df.count().await.unwrap()));
    }
    expected.sort();
    let rec = util::query_dir(
        &wh.join("dwd/dwd_reconciliation"),
        "SELECT source_table || '=' || CAST(landed AS VARCHAR) AS l, balanced FROM t ORDER BY 1",
    )
    .await;
    let text = pretty(&rec);
    for e in &expected {
        assert!(text.contains(&format!("| {e} ")), "{e} missing in\n{text}");
    }
    assert!(!text.contains("false"), "{text}");

    // The rejects are exactly the generator's deliberately invalid rows (those with a key).
    let ctx = SessionContext::new();
    ctx.register_parquet(
        "truth",
        root.join("data/truth/invalid_rows.parquet")
            .to_str()
            .unwrap(),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    ctx.register_parquet(
        "rej",
        &format!("{}/", wh.join("dwd/dwd_reject").display()),
        ParquetReadOptions::default(),
    )
    .await
    .unwrap();
    let diff = ctx
        .sql("SELECT 'missing' AS side, * FROM (SELECT source_table, source_key, reason FROM truth WHERE source_key IS NOT NULL
                EXCEPT SELECT source_table, source_key, reason FROM rej)
              UNION ALL
              SELECT 'extra', * FROM (SELECT source_table, source_key, reason FROM rej WHERE source_key IS NOT NULL
                EXCEPT SELECT source_table, source_key, reason FROM truth)")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let n: usize = diff.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, 0, "rejects differ from the truth:\n{}", pretty(&diff));
}
