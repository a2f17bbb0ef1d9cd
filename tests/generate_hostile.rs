//! The hostile profile makes the identifiers of issue 12 (placeholders, default nicknames, chains
//! of accounts, traditional characters, extensions) with a ground truth that the bundled
//! pipeline resolves: pairwise precision and recall at least 0.99.

mod util;

use util::crm_fixture::lines;
use util::query_dir;

#[tokio::test]
async fn hostile_generation_is_dirty_and_resolved() {
    let p = util::ods::crm_project();
    let out = p.strata(&[
        "generate",
        "crm",
        "--customers",
        "1500",
        "--days",
        "90",
        "--seed",
        "11",
        "--profile",
        "hostile",
        "--chain-rate",
        "0.03",
        "--out",
        "data/ods",
        "--truth",
        "data/truth",
        "-q",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shop = p.path().join("data/ods/ods_shop_customer");
    let crm = p.path().join("data/ods/ods_crm_customer");
    let count = |rows: Vec<String>| rows[0].parse::<i64>().unwrap();
    let placeholders = count(lines(
        &query_dir(
            &shop,
            "SELECT COUNT(*) FROM t WHERE mobile IN ('13800000000', '00000000000', '13999999999', '11111111111')",
        )
        .await,
    ));
    let nicknames = count(lines(
        &query_dir(
            &shop,
            "SELECT COUNT(*) FROM t WHERE display_name = '微信用户' OR display_name LIKE '用户\\_%'",
        )
        .await,
    ));
    let extensions = count(lines(
        &query_dir(
            &crm,
            "SELECT COUNT(*) FROM t WHERE phone LIKE '%转%' OR phone LIKE '%ext%' OR phone LIKE '%#%' OR phone LIKE '%x%'",
        )
        .await,
    ));
    assert!(placeholders > 10, "{placeholders} placeholder mobiles");
    assert!(nicknames > 10, "{nicknames} default nicknames");
    assert!(extensions > 5, "{extensions} extensions");

    let out = p.strata(&[
        "run",
        "pipelines/crm.yaml",
        "--ds",
        "2026-11-21",
        "--select",
        "+dwd_customer_source_map",
        "+dwd_customer_refused_key",
        "-q",
    ]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let wh = p.path().join("warehouse/dwd");
    let s = strata::app::quality::pairwise_scores(
        &wh.join("dwd_customer_source_map"),
        &p.path().join("data/truth/customer_truth.parquet"),
    )
    .await
    .unwrap();
    assert!(s.precision >= 0.99 && s.recall >= 0.99, "{s:?}");
    // Chains of accounts make customers of many records.
    let biggest = count(lines(
        &query_dir(
            &wh.join("dwd_customer_source_map"),
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM t GROUP BY customer_id)",
        )
        .await,
    ));
    assert!(biggest >= 10, "largest customer has {biggest} records");
    let refused = count(lines(
        &query_dir(
            &wh.join("dwd_customer_refused_key"),
            "SELECT COUNT(DISTINCT reason) FROM t",
        )
        .await,
    ));
    assert!(refused >= 3, "{refused} kinds of refused keys");
}
