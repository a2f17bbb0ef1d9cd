//! DOMAIN.md's money, `first_seen_at` and `value_tier` rules through DWS and ADS, on the fixture
//! of `util/rules_fixture.rs` (its module doc lists every record), run by the real binary for
//! ds = 2026-11-21. Every expectation is worked out by hand from that fixture.

mod util;

use std::sync::OnceLock;

use util::Project;
use util::crm_fixture::{DS, rows, warehouse_context};
use util::rules_fixture::rules_project;

fn run() -> &'static Project {
    static RUN: OnceLock<Project> = OnceLock::new();
    RUN.get_or_init(|| {
        let p = rules_project(false);
        let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", DS]);
        assert_eq!(
            out.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            out.stdout, out.stderr
        );
        p
    })
}

async fn query(sql: &str) -> Vec<String> {
    let ctx = warehouse_context(&run().path().join("warehouse")).await;
    rows(&ctx, sql).await
}

/// The source record of each row's customer instead of its opaque customer_id.
const SRC: &str = "JOIN dwd_customer_source_map m ON m.customer_id = x.customer_id";

#[tokio::test]
async fn money_rounds_half_away_from_zero_and_sums_exactly() {
    // amount_cny = round(amount * rate, 2), half away from zero (seed rates USD 7.10, EUR 7.70,
    // HKD 0.91): OA 0.15 x 7.10 = 1.065 -> 1.07; OB 0.25 x 7.70 = 1.925 -> 1.93;
    // OC 1.50 x 0.91 = 1.365 -> 1.37 (half-to-even would give 1.06, 1.92, 1.36; the old DOUBLE
    // product 0.15 * 7.1 is 1.06499999..., below the half).
    assert_eq!(
        query(
            "SELECT order_id, amount_cny, arrow_typeof(amount_cny) FROM dwd_order \
             WHERE order_id IN ('OA', 'OB', 'OC') ORDER BY 1"
        )
        .await,
        [
            "OA | 1.07 | Decimal128(18, 2)",
            "OB | 1.93 | Decimal128(18, 2)",
            "OC | 1.37 | Decimal128(18, 2)",
        ]
    );
    // Sums are exact: E1 1.07 + 1.93 + 1.37 = 4.37; E2 0.10 + 0.20 = 0.30 (as doubles,
    // 0.1 + 0.2 = 0.30000000000000004); E3 0.30. The ADS DOUBLE holds the decimal converted
    // once: exactly the double nearest 4.37 and 0.3.
    assert_eq!(
        query(&format!(
            "SELECT m.source_customer_id, x.monetary_365d, x.monetary_365d = 4.37, \
             x.monetary_365d = 0.3 FROM ads_rfm_score x {SRC} \
             WHERE m.source_customer_id IN ('E1', 'E2', 'E3') ORDER BY 1"
        ))
        .await,
        [
            "E1 | 4.37 | true | false",
            "E2 | 0.3 | false | true",
            "E3 | 0.3 | false | true",
        ]
    );
    assert_eq!(
        query(&format!(
            "SELECT m.source_customer_id, x.lifetime_amount_cny FROM ads_customer_profile x {SRC} \
             WHERE m.source_customer_id IN ('E1', 'E2') ORDER BY 1"
        ))
        .await,
        ["E1 | 4.37", "E2 | 0.3"]
    );
}

#[tokio::test]
async fn equal_spends_share_a_quintile() {
    // N = 3 buyers, q = 1 + floor(5 * (RANK - 1) / 3). Recency: all 1 day, rank 1 -> q1.
    // Frequency ascending: E3 1 (rank 1, q1), E2 2 (rank 2, q 1 + floor(5/3) = 2), E1 3 (rank 3,
    // q 1 + floor(10/3) = 4). Monetary ascending: E2 and E3 both 0.30 tie at rank 1 -> q1 (with
    // E2 a float 0.30000000000000004 it would rank 2 -> q2); E1 4.37 rank 3 -> q4.
    // rfm_score = (r + f + m) / 3 with r = 364/365 = 0.997260, f = F/12, m = M/50000:
    // E1 (0.997260 + 0.25 + 0.0000874) / 3 = 0.415783; E2 (0.997260 + 0.166667 + 0.000006) / 3
    // = 0.387978; E3 (0.997260 + 0.083333 + 0.000006) / 3 = 0.360200.
    assert_eq!(
        query(&format!(
            "SELECT m.source_customer_id, x.recency_days, x.frequency_365d, x.r_quintile, \
             x.f_quintile, x.m_quintile, round(x.rfm_score, 6) FROM ads_rfm_score x {SRC} \
             WHERE x.recency_days IS NOT NULL ORDER BY 1"
        ))
        .await,
        [
            "E1 | 1 | 3 | 1 | 4 | 4 | 0.415783",
            "E2 | 1 | 2 | 1 | 2 | 1 | 0.387978",
            "E3 | 1 | 1 | 1 | 1 | 1 | 0.3602",
        ]
    );
}

#[tokio::test]
async fn erp_first_seen_is_its_earliest_version() {
    // E9 landed on 2026-09-01 (updated_at 02:00Z) and again on 2026-11-20: first seen on
    // 2026-09-01 (10:00 in Shanghai), not moved forward by the update; the survivor is the
    // later version (province 重庆).
    assert_eq!(
        query(&format!(
            "SELECT m.source_customer_id, CAST(x.first_seen_date AS VARCHAR), x.province \
             FROM dwd_customer x {SRC} WHERE m.source_customer_id = 'E9'"
        ))
        .await,
        ["E9 | 2026-09-01 | 重庆"]
    );
    // First seen 2026-09-01 <= ds - 60 = 2026-09-22 and no interaction ever:
    // no_interaction_60d, orange. (Had the update moved it to 2026-11-20, no warning.)
    // E1..E3 were first seen on 2026-11-20 (their only version): too new, no warning.
    assert_eq!(
        query(&format!(
            "SELECT m.source_customer_id, x.warning_level, x.reasons, x.days_since_interaction \
             FROM ads_churn_warning x {SRC} WHERE m.source_system = 'erp' ORDER BY 1"
        ))
        .await,
        ["E9 | orange | no_interaction_60d | NULL"]
    );
}

#[tokio::test]
async fn every_zero_score_customer_is_low_activity() {
    // N = 9 customers: scores E1 0.415783, E2 0.387978, E3 0.360200 and six at 0 (C1..C5, E9:
    // no paid order). 高价值 when (RANK desc - 1)/9 < 0.2: E1 0, E2 1/9 -> 高价值; E3 2/9 no.
    // 低活跃 when (RANK asc - 1)/9 < 0.2: the six zeros share rank 1 -> 0 -> 低活跃; E3 has
    // rank 7 -> 6/9 -> 潜力型. (The old rule ranked the zeros 4th from the top, 3/9 < 0.8:
    // 潜力型, because they are more than a fifth of all.)
    assert_eq!(
        query(&format!(
            "SELECT m.source_customer_id, round(x.rfm_score, 6), x.value_tier \
             FROM ads_rfm_score x {SRC} ORDER BY 1"
        ))
        .await,
        [
            "C1 | 0.0 | 低活跃",
            "C2 | 0.0 | 低活跃",
            "C3 | 0.0 | 低活跃",
            "C4 | 0.0 | 低活跃",
            "C5 | 0.0 | 低活跃",
            "E1 | 0.415783 | 高价值",
            "E2 | 0.387978 | 高价值",
            "E3 | 0.3602 | 潜力型",
            "E9 | 0.0 | 低活跃",
        ]
    );
}
