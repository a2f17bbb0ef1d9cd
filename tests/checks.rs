//! Each check kind passes and fails on a hand-made table; failing counts are worked out by hand.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use strata::checks::{CheckResult, CheckStatus, run_checks};
use strata::diag::Location;
use strata::engine::Params;
use strata::model::checks::{CheckKind, CheckSpec, Severity, Threshold};

fn day(text: &str) -> i32 {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn table(columns: Vec<(&str, ArrayRef)>) -> Arc<MemTable> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap())
}

/// `this`: 5 rows. id 1,2,3,3,NULL; status a,b,c,a,a; score 0.5,1.5,-1,0.2,0.9;
/// cust C1,C2,C9,C1,C2; updated 2026-11-15..2026-11-19.
fn context() -> SessionContext {
    let ctx = SessionContext::new();
    let this = table(vec![
        (
            "id",
            Arc::new(Int64Array::from(vec![
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                None,
            ])),
        ),
        (
            "status",
            Arc::new(StringArray::from(vec!["a", "b", "c", "a", "a"])),
        ),
        (
            "score",
            Arc::new(Float64Array::from(vec![0.5, 1.5, -1.0, 0.2, 0.9])),
        ),
        (
            "cust",
            Arc::new(StringArray::from(vec!["C1", "C2", "C9", "C1", "C2"])),
        ),
        (
            "updated",
            Arc::new(Date32Array::from(
                [
                    "2026-11-15",
                    "2026-11-16",
                    "2026-11-17",
                    "2026-11-18",
                    "2026-11-19",
                ]
                .iter()
                .map(|d| day(d))
                .collect::<Vec<_>>(),
            )),
        ),
    ]);
    ctx.register_table("this", this).unwrap();
    let dim = table(vec![(
        "cust_id",
        Arc::new(StringArray::from(vec!["C1", "C2"])),
    )]);
    ctx.register_table("dim", dim).unwrap();
    let dim_all = table(vec![(
        "cust_id",
        Arc::new(StringArray::from(vec!["C1", "C2", "C9"])),
    )]);
    ctx.register_table("dim_all", dim_all).unwrap();
    ctx
}

fn spec(kind: CheckKind) -> CheckSpec {
    CheckSpec {
        name: kind.default_name(),
        kind,
        severity: Severity::Error,
        threshold: None,
        at: Location::file_start("x.yaml"),
    }
}

async fn check(s: CheckSpec, previous: Option<u64>) -> CheckResult {
    let params = Params {
        ds: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        vars: vec![],
    };
    run_checks(&context(), "t", &[s], &params, previous)
        .await
        .remove(0)
}

async fn assert_fails(s: CheckSpec, failing: u64) -> CheckResult {
    let r = check(s, None).await;
    assert_eq!((r.status, r.failing), (CheckStatus::Fail, failing), "{r:?}");
    assert_eq!(r.total, 5);
    r
}

async fn assert_passes(s: CheckSpec) {
    let r = check(s, None).await;
    assert_eq!(r.status, CheckStatus::Pass, "{r:?}");
}

fn cols(c: &[&str]) -> Vec<String> {
    c.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn not_null() {
    let r = assert_fails(
        spec(CheckKind::NotNull {
            columns: cols(&["id"]),
        }),
        1,
    )
    .await;
    assert_eq!(r.samples, vec!["NULL"]);
    assert_passes(spec(CheckKind::NotNull {
        columns: cols(&["status", "score"]),
    }))
    .await;
}

#[tokio::test]
async fn unique() {
    // id 3 appears twice: two rows are involved.
    let r = assert_fails(
        spec(CheckKind::Unique {
            columns: cols(&["id"]),
        }),
        2,
    )
    .await;
    assert_eq!(r.samples, vec!["3"]);
    assert_fails(
        spec(CheckKind::Unique {
            columns: cols(&["status"]),
        }),
        3,
    )
    .await;
    assert_passes(spec(CheckKind::Unique {
        columns: cols(&["score"]),
    }))
    .await;
    assert_passes(spec(CheckKind::Unique {
        columns: cols(&["status", "score"]),
    }))
    .await;
}

#[tokio::test]
async fn accepted_values() {
    let kind = |v: &[&str]| CheckKind::AcceptedValues {
        column: "status".into(),
        values: cols(v),
    };
    let r = assert_fails(spec(kind(&["a", "b"])), 1).await;
    assert_eq!(r.samples, vec!["c"]);
    assert_passes(spec(kind(&["a", "b", "c"]))).await;
}

#[tokio::test]
async fn accepted_range_and_thresholds() {
    let kind = |min, max| CheckKind::AcceptedRange {
        column: "score".into(),
        min: Some(min),
        max: Some(max),
    };
    assert_fails(spec(kind(0.0, 1.0)), 2).await;
    assert_passes(spec(kind(-1.0, 2.0))).await;
    let mut tolerant = spec(kind(0.0, 1.0));
    tolerant.threshold = Some(Threshold::Count(2));
    assert_passes(tolerant.clone()).await;
    tolerant.threshold = Some(Threshold::Percent(10.0)); // 10% of 5 rows allows 0
    assert_fails(tolerant.clone(), 2).await;
    tolerant.threshold = Some(Threshold::Percent(40.0)); // allows 2
    assert_passes(tolerant).await;
}

#[tokio::test]
async fn relationships() {
    let kind = |to: &str| CheckKind::Relationships {
        column: "cust".into(),
        to: to.into(),
        field: "cust_id".into(),
    };
    let r = assert_fails(spec(kind("dim")), 1).await;
    assert_eq!(r.samples, vec!["C9"]);
    assert_passes(spec(kind("dim_all"))).await;
}

#[tokio::test]
async fn row_count() {
    let r = check(
        spec(CheckKind::RowCount {
            min: Some(6),
            max: None,
            max_change_pct: None,
        }),
        None,
    )
    .await;
    assert_eq!(r.status, CheckStatus::Fail);
    assert!(r.message.unwrap().contains("fewer than the minimum 6"));
    assert_passes(spec(CheckKind::RowCount {
        min: Some(1),
        max: Some(10),
        max_change_pct: None,
    }))
    .await;
    let change = spec(CheckKind::RowCount {
        min: None,
        max: None,
        max_change_pct: Some(10.0),
    });
    // 4 -> 5 rows is +25%.
    let r = check(change.clone(), Some(4)).await;
    assert_eq!(r.status, CheckStatus::Fail, "{r:?}");
    assert!(r.message.unwrap().contains("+25.0%"));
    assert_eq!(check(change, Some(5)).await.status, CheckStatus::Pass);
}

#[tokio::test]
async fn expression() {
    let r = assert_fails(
        spec(CheckKind::Expression {
            expr: "score >= 0".into(),
        }),
        1,
    )
    .await;
    assert_eq!(r.samples, vec!["3"], "samples show the id column");
    assert_passes(spec(CheckKind::Expression {
        expr: "score > -5 AND status <> 'z'".into(),
    }))
    .await;
}

#[tokio::test]
async fn sql() {
    assert_fails(
        spec(CheckKind::Sql {
            query: "SELECT * FROM this WHERE status = 'c' OR id IS NULL".into(),
        }),
        2,
    )
    .await;
    assert_passes(spec(CheckKind::Sql {
        query: "SELECT * FROM this WHERE status = 'z'".into(),
    }))
    .await;
}

#[tokio::test]
async fn freshness() {
    // Latest update 2026-11-19 is 2 days before ds 2026-11-21.
    let kind = |days| CheckKind::Freshness {
        column: "updated".into(),
        max_age_days: days,
    };
    let r = check(spec(kind(1)), None).await;
    assert_eq!(r.status, CheckStatus::Fail);
    assert!(r.message.unwrap().contains("2 days before ds"));
    assert_passes(spec(kind(2))).await;
}

#[tokio::test]
async fn warn_severity_does_not_block_and_broken_checks_error() {
    let mut s = spec(CheckKind::Expression {
        expr: "score >= 0".into(),
    });
    s.severity = Severity::Warn;
    let r = check(s, None).await;
    assert_eq!(r.status, CheckStatus::Warn);
    assert!(!r.blocks());
    let r = check(
        spec(CheckKind::NotNull {
            columns: cols(&["nope"]),
        }),
        None,
    )
    .await;
    assert_eq!(r.status, CheckStatus::Error);
    assert!(r.blocks());
    assert!(r.message.unwrap().contains("nope"));
}

#[test]
fn samples_never_show_raw_contacts() {
    assert_eq!(strata::checks::mask_pii("+8613800138000"), "138****8000");
    assert_eq!(
        strata::checks::mask_pii("zhang@example.com"),
        "z***@example.com"
    );
    assert_eq!(strata::checks::mask_pii("C000123"), "C000123");
    // An identifier column keeps a customer id whose digits look like a phone's, but not a
    // phone used as an account id; other columns mask by shape.
    let mask = strata::checks::mask_sample;
    assert_eq!(mask("customer_id", "CU5091234591185"), "CU5091234591185");
    assert_eq!(mask("shop_uid", "139-1234-5678"), "139****5678");
    assert_eq!(mask("note", "CU5091234591185"), "509****1185");
    assert_eq!(mask("source_key", "a@b.com"), "a***@b.com");
    assert_eq!(mask("key_masked", "138****0000"), "138****0000");
}

#[tokio::test]
async fn no_personal_data() {
    let ctx = SessionContext::new();
    let t = table(vec![
        ("id", Arc::new(StringArray::from(vec!["C1", "C2", "C3"]))),
        (
            "note",
            Arc::new(StringArray::from(vec![
                "call 13800138000",
                "138****8000",
                "z***@x.com",
            ])),
        ),
        (
            "contact",
            Arc::new(StringArray::from(vec![
                "a@b.com",
                "none",
                "110101199003071234",
            ])),
        ),
    ]);
    ctx.register_table("this", t).unwrap();
    let params = Params {
        ds: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        vars: vec![],
    };
    let r = run_checks(&ctx, "t", &[spec(CheckKind::NoPersonalData)], &params, None)
        .await
        .remove(0);
    // note: one raw phone (the masked ones pass); contact: an e-mail and an ID number.
    assert_eq!(r.status, CheckStatus::Fail, "{r:?}");
    let m = r.message.unwrap();
    assert!(m.contains("column `note` has 1 value(s)"), "{m}");
    assert!(m.contains("column `contact` has 2 value(s)"), "{m}");
    assert!(
        r.samples
            .iter()
            .all(|s| !s.contains("13800138000") && !s.contains("a@b.com")),
        "{:?}",
        r.samples
    );
}

#[tokio::test]
async fn identifiers_with_digit_runs_are_not_personal_data() {
    let ctx = SessionContext::new();
    let t = table(vec![(
        "customer_id",
        Arc::new(StringArray::from(vec![
            "CU15012344473B",
            "CUA150123444731",
            "x 15012344473",
        ])),
    )]);
    ctx.register_table("this", t).unwrap();
    let params = Params {
        ds: chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        vars: vec![],
    };
    let r = run_checks(&ctx, "t", &[spec(CheckKind::NoPersonalData)], &params, None)
        .await
        .remove(0);
    // Only the free-standing number is a phone.
    assert_eq!((r.status, r.failing), (CheckStatus::Fail, 1), "{r:?}");
}
