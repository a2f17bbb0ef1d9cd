//! DOMAIN.md's acceptance rules on values and versions, on the fixture of
//! `util/rules_fixture.rs` (its module doc lists every record), run by the real binary. Every
//! expectation is worked out by hand from that fixture.

mod util;

use std::sync::OnceLock;

use util::Project;
use util::crm_fixture::{DS, rows, warehouse_context};
use util::rules_fixture::rules_project;

/// The fixture run once per file order (`false`: as listed; `true`: tied files swapped).
fn run(swapped: bool) -> &'static Project {
    static PLAIN: OnceLock<Project> = OnceLock::new();
    static SWAPPED: OnceLock<Project> = OnceLock::new();
    let cell = if swapped { &SWAPPED } else { &PLAIN };
    cell.get_or_init(|| {
        let p = rules_project(swapped);
        let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", DS]);
        assert_eq!(
            out.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        p
    })
}

async fn query(p: &Project, sql: &str) -> Vec<String> {
    let ctx = warehouse_context(&p.path().join("warehouse")).await;
    rows(&ctx, sql).await
}

#[tokio::test]
async fn blank_keys_are_null_key_in_every_source() {
    let p = run(false);
    // Every row whose record id or customer reference is NULL, empty or only whitespace
    // (U+3000, U+00A0, U+2003 included) is one null_key reject; the key is NULL when the id is
    // blank. ods_order: the five '' orders and ' U+3000 ' (six NULL keys) and OJ (blank
    // customer). ods_interaction: '' (NULL key) and I2 (crm_id ' '). ods_survey: the response
    // with id U+2003. One each in contracts, leads, usage (crm_id ''), signals (G1, crm_id '')
    // and the three customer sources.
    assert_eq!(
        query(
            p,
            "SELECT source_table, COALESCE(source_key, 'NULL'), COUNT(*) FROM dwd_reject \
             WHERE reason = 'null_key' GROUP BY 1, 2 ORDER BY 1, 2"
        )
        .await,
        [
            "ods_competitor_signal | G1 | 1",
            "ods_contract | NULL | 1",
            "ods_crm_customer | NULL | 1",
            "ods_erp_customer | NULL | 1",
            "ods_interaction | I2 | 1",
            "ods_interaction | NULL | 1",
            "ods_lead | NULL | 1",
            "ods_order | NULL | 6",
            "ods_order | OJ | 1",
            "ods_product_usage | NULL | 1",
            "ods_shop_customer | NULL | 1",
            "ods_survey | NULL | 1",
        ]
    );
    // ods_order: 14 rows on the 20th + 6 on the 21st = 20 landed. Accepted: OA..OF, OG, OH, OI
    // = 9. Triage keeps 9 ids + 7 null_key rows = 16, so 4 duplicates (OG 1, OH 2, OI 1);
    // 7 rejected. 9 + 4 + 7 = 20.
    // ods_crm_customer: 5 + 2 (C3's tie) on the 20th + C2 and C5 on the 21st = 9 landed;
    // C1..C5 accepted; 3 duplicates (C2, C3, C5); 1 rejected (crm_id ''). ods_erp_customer: E9 on
    // 2026-09-01 + 5 on the 20th = 6; E1 E2 E3 E9 accepted; 1 duplicate (E9); 1 rejected.
    // ods_shop_customer: its only record is blank. ods_interaction: 5 landed, I1 and I3
    // accepted, I3's tie a duplicate, 2 rejected.
    assert_eq!(
        query(
            p,
            "SELECT source_table, landed, accepted, duplicates, rejected, balanced \
             FROM dwd_reconciliation WHERE source_table IN ('ods_order', 'ods_crm_customer', \
             'ods_erp_customer', 'ods_shop_customer', 'ods_interaction') ORDER BY 1"
        )
        .await,
        [
            "ods_crm_customer | 9 | 5 | 3 | 1 | true",
            "ods_erp_customer | 6 | 4 | 1 | 1 | true",
            "ods_interaction | 5 | 2 | 1 | 2 | true",
            "ods_order | 20 | 9 | 4 | 7 | true",
            "ods_shop_customer | 1 | 0 | 0 | 1 | true",
        ]
    );
    assert_eq!(
        query(
            p,
            "SELECT COUNT(*) FROM dwd_reconciliation WHERE NOT balanced"
        )
        .await,
        ["0"]
    );
    // The blank customer records are nobody's: 5 CRM + 4 ERP records, nine customers.
    assert_eq!(
        query(
            p,
            "SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM dwd_customer_source_map"
        )
        .await,
        ["9 | 9"]
    );
}

#[tokio::test]
async fn survey_scores_are_read_as_typed() {
    let p = run(false);
    // NFKC then trimmed of Unicode whitespace, an integer literal with an optional '+':
    // S1 '９' -> 9, S2 ' 9' + NBSP -> 9, S3 '+9' -> 9, S8 U+3000 '５' -> 5 (CSAT),
    // S11 U+3000 '１０' -> 10. Invalid: S4 '4.0', S5 '11', S6 'N/A', S7 '-1', S9 '0' (CSAT is
    // 1..5), S10 ''.
    assert_eq!(
        query(
            p,
            "SELECT response_id, survey_type, score FROM dwd_survey ORDER BY response_id"
        )
        .await,
        [
            "S1 | NPS | 9",
            "S11 | NPS | 10",
            "S2 | NPS | 9",
            "S3 | NPS | 9",
            "S8 | CSAT | 5",
        ]
    );
    assert_eq!(
        query(
            p,
            "SELECT source_key FROM dwd_reject WHERE reason = 'invalid_score' ORDER BY 1"
        )
        .await,
        ["S10", "S4", "S5", "S6", "S7", "S9"]
    );
}

#[tokio::test]
async fn a_null_updated_at_never_replaces_a_newer_version() {
    let p = run(false);
    // C2 landed on the 21st with a NULL updated_at (city Shanghai): older than the version of
    // the 20th (city Beijing), although it landed later. C5 likewise, from a file without the
    // updated_at column. OI: refunded on the 20th with an updated_at, re-landed paid on the
    // 21st without one: stays refunded.
    assert_eq!(
        query(
            p,
            "SELECT m.source_customer_id, c.city FROM dwd_customer c \
             JOIN dwd_customer_source_map m ON m.customer_id = c.customer_id \
             WHERE m.source_customer_id IN ('C2', 'C5') ORDER BY 1"
        )
        .await,
        ["C2 | Beijing", "C5 | Beijing"]
    );
    assert_eq!(
        query(
            p,
            "SELECT order_id, status, CAST(landing_ds AS VARCHAR) FROM dwd_order \
             WHERE order_id = 'OI'"
        )
        .await,
        ["OI | refunded | 2026-11-20"]
    );
}

/// The tied records' outcome, the same for both file orders.
async fn ties(p: &Project) {
    // Orders re-sent with the same updated_at on the same day: a reversal wins.
    // OG: paid vs refunded -> refunded. OH: cancelled, refunded, paid -> cancelled.
    assert_eq!(
        query(
            p,
            "SELECT order_id, status FROM dwd_order WHERE order_id IN ('OG', 'OH') ORDER BY 1"
        )
        .await,
        ["OG | refunded", "OH | cancelled"]
    );
    // Non-order ties go to the smallest remaining columns: I3 'call' < 'email'; C3's versions
    // differ only in city: 'Chengdu' < 'Xian'.
    assert_eq!(
        query(
            p,
            "SELECT interaction_id, channel FROM dwd_interaction WHERE interaction_id = 'I3'"
        )
        .await,
        ["I3 | call"]
    );
    assert_eq!(
        query(
            p,
            "SELECT c.city FROM dwd_customer c \
             JOIN dwd_customer_source_map m ON m.customer_id = c.customer_id \
             WHERE m.source_customer_id = 'C3'"
        )
        .await,
        ["Chengdu"]
    );
}

#[tokio::test]
async fn tied_versions_resolve_the_same_whatever_the_file_order() {
    ties(run(false)).await;
    ties(run(true)).await;
    // And E1's paid orders are the same three (OA, OB, OC) in both runs.
    for swapped in [false, true] {
        assert_eq!(
            query(
                run(swapped),
                "SELECT string_agg(order_id, ',' ORDER BY order_id) FROM dwd_order \
                 WHERE source_customer_id = 'E1' AND status = 'paid'"
            )
            .await,
            ["OA,OB,OC"]
        );
    }
}

#[test]
fn a_deduplication_that_loses_rows_unbalances_the_reconciliation() {
    // The order deduplication is made to drop OA, an order landed once. Triage then holds 15
    // rows (8 accepted + 7 rejected); counted from what triage kept, the 5 missing rows would
    // pass for duplicates and 8 + 5 + 7 would balance the 20 landed. Counted from the landed
    // rows (16 with a non-blank order_id, 12 distinct ids: 4 duplicates), 8 + 4 + 7 = 19.
    let p = rules_project(false);
    let sql = p.path().join("sql/dwd/dwd_order_latest.sql");
    let text = std::fs::read_to_string(&sql).unwrap();
    let lossy = text.replace(
        "SELECT * FROM once\n",
        "SELECT * FROM once WHERE order_id <> 'OA'\n",
    );
    assert_ne!(lossy, text);
    std::fs::write(&sql, lossy).unwrap();
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", DS, "--format", "json"]);
    assert_eq!(
        out.code, 1,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let run: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let stage = run["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stage"] == "dwd_reconciliation")
        .unwrap();
    let failed: Vec<_> = stage["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .map(|c| (c["check"].as_str().unwrap(), c["failing"].as_u64().unwrap()))
        .collect();
    assert_eq!(failed, [("landed_rows_reconcile", 1)], "{stage:#}");
}
