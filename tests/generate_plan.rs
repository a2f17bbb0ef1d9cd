//! The customer-success plan A/B test of seed 000 (`ods_cs_plan`) and its planted effect: who is
//! enrolled, when they were assigned, the ground truth, and plan B renewing more and scoring
//! higher NPS than plan A. One run of 3,000 customers over 395 landing days, seed 7; the
//! relational checks are queries over the generated Parquet.

mod generate_support;

use std::collections::BTreeSet;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use generate_support::*;
use strata::generate::{BASE_RENEWAL_RATE, DirtyRates, PLAN_B_NPS_LIFT, PLAN_B_RENEWAL_RATE};

/// The ODS tables the checks read (`ds` from the hive directory), and the customer truth.
async fn context(root: &Path) -> SessionContext {
    let ctx = SessionContext::new();
    for table in [
        "ods_cs_plan",
        "ods_crm_customer",
        "ods_contract",
        "ods_survey",
    ] {
        let options = ParquetReadOptions::default()
            .table_partition_cols(vec![("ds".to_string(), DataType::Date32)]);
        let dir = format!("{}/", root.join("ods").join(table).display());
        ctx.register_parquet(table, &dir, options)
            .await
            .expect("register table");
    }
    let truth = root.join("truth/customer_truth.parquet");
    ctx.register_parquet(
        "truth",
        truth.to_str().expect("utf-8 path"),
        ParquetReadOptions::default(),
    )
    .await
    .expect("register truth");
    ctx
}

async fn query(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The single BIGINT of a query.
async fn count(ctx: &SessionContext, sql: &str) -> i64 {
    let b = query(ctx, sql).await;
    b[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// `(plan, numerator, denominator)` rows of a query, by plan.
async fn by_plan(ctx: &SessionContext, sql: &str) -> Vec<(String, f64, i64)> {
    let mut out = Vec::new();
    for b in query(ctx, sql).await {
        // Strings may come back as views.
        let plan = cast(b.column(0), &DataType::Utf8).expect("plan as text");
        let (plan, num, den) = (
            plan.as_string::<i32>(),
            b.column(1).as_primitive::<Float64Type>(),
            b.column(2).as_primitive::<Int64Type>(),
        );
        for i in 0..b.num_rows() {
            out.push((plan.value(i).to_string(), num.value(i), den.value(i)));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
#[allow(clippy::print_stderr)]
async fn plan_assignments_and_the_planted_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outcome = generate(dir.path(), 3000, 395, 7, DirtyRates::default());
    let root = dir.path();
    let last = epoch_day(end_date());

    // The table: exact columns, reported in the outcome after the other ODS tables.
    let plans = read_table(&root.join("ods"), "ods_cs_plan");
    let columns: Vec<(String, DataType)> = plans
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let want = [
        ("assignment_id", DataType::Utf8),
        ("crm_id", DataType::Utf8),
        ("plan", DataType::Utf8),
        ("start_date", DataType::Date32),
        ("assigned_at", ts),
    ];
    assert_eq!(
        columns,
        want.map(|(n, t)| (n.to_string(), t)).to_vec(),
        "ods_cs_plan columns"
    );
    let reported = outcome
        .tables
        .iter()
        .find(|t| t.table == "ods_cs_plan")
        .expect("outcome lists ods_cs_plan");
    assert_eq!(reported.rows, plans.len() as u64);

    // Rows in Rust: ids, one assignment per customer, both arms, assigned on a weekday of the
    // two weeks up to the start and landed on that business date, the start in the rollout
    // window [last - 330, last - 210].
    let (ids, crm, plan, start, at, ds) = (
        plans.str("assignment_id"),
        plans.str("crm_id"),
        plans.str("plan"),
        plans.date("start_date"),
        plans.ts("assigned_at"),
        plans.ds_days(),
    );
    let n = plans.len();
    assert!(n > 50, "{n} enrolled customers");
    let distinct = |v: &[Option<String>]| v.iter().flatten().collect::<BTreeSet<_>>().len();
    assert_eq!(distinct(&ids), n, "assignment ids are unique");
    assert_eq!(distinct(&crm), n, "one assignment per customer");
    for i in 0..n {
        let id = ids[i].as_deref().expect("assignment_id");
        assert!(id.len() == 11 && id.starts_with("CSP"), "{id}");
        assert!(matches!(plan[i].as_deref(), Some("A" | "B")));
        let (s, day) = (
            start[i].expect("start_date"),
            shanghai_day(at[i].expect("at")),
        );
        assert!((s - 14..=s).contains(&day), "assigned on {day}, start {s}");
        assert_eq!(ds[i], day, "lands on the business date of assigned_at");
        assert!((last - 330..=last - 210).contains(&s), "start {s}");
    }
    let b = plan.iter().filter(|p| p.as_deref() == Some("B")).count();
    assert!(b > n / 4 && b < n * 3 / 4, "{b} of {n} in plan B");

    let ctx = context(root).await;
    // Every customer is a CRM customer, had a contract in force on the start day, and was
    // assigned no later than that day.
    let orphans = count(
        &ctx,
        "SELECT COUNT(*) FROM ods_cs_plan p
         WHERE p.crm_id NOT IN (SELECT crm_id FROM ods_crm_customer WHERE crm_id IS NOT NULL)",
    )
    .await;
    assert_eq!(orphans, 0, "plan customers missing from ods_crm_customer");
    let without_contract = count(
        &ctx,
        "SELECT COUNT(*) FROM ods_cs_plan p WHERE NOT EXISTS (
           SELECT 1 FROM ods_contract c WHERE c.crm_id = p.crm_id
             AND c.start_date <= p.start_date AND p.start_date <= c.end_date)",
    )
    .await;
    assert_eq!(without_contract, 0, "enrolled without a contract in force");
    let late = count(
        &ctx,
        "SELECT COUNT(*) FROM ods_cs_plan WHERE assigned_at > CAST(start_date AS TIMESTAMP)
           + INTERVAL '1 day' - INTERVAL '8 hours'",
    )
    .await;
    assert_eq!(late, 0, "assigned after the start day (Shanghai time)");

    // The truth names exactly these plans, on every record of each enrolled customer.
    let mismatched = count(
        &ctx,
        "SELECT COUNT(*) FROM (
           (SELECT source_customer_id, cs_plan, cs_plan_start FROM truth
             WHERE source_system = 'crm' AND cs_plan IS NOT NULL
            EXCEPT SELECT crm_id, plan, start_date FROM ods_cs_plan)
           UNION ALL
           (SELECT crm_id, plan, start_date FROM ods_cs_plan
            EXCEPT SELECT source_customer_id, cs_plan, cs_plan_start FROM truth
             WHERE source_system = 'crm'))",
    )
    .await;
    assert_eq!(mismatched, 0, "truth and ods_cs_plan disagree");
    let split = count(
        &ctx,
        "SELECT COUNT(*) FROM (SELECT true_customer_key FROM truth
           GROUP BY true_customer_key HAVING COUNT(DISTINCT COALESCE(cs_plan, '-')) > 1)",
    )
    .await;
    assert_eq!(split, 0, "a customer's records disagree on the plan");

    // Renewal: of the contracts ending on or after the plan start (and early enough for a
    // renewal to have landed), the share some later contract renews. Plan B renews with
    // probability PLAN_B_RENEWAL_RATE instead of BASE_RENEWAL_RATE, so its share is higher.
    const { assert!(PLAN_B_RENEWAL_RATE > BASE_RENEWAL_RATE) };
    let renewal = by_plan(
        &ctx,
        &format!(
            "SELECT p.plan,
                    AVG(CASE WHEN r.renewed_from IS NULL THEN 0.0 ELSE 1.0 END),
                    COUNT(*)
             FROM ods_cs_plan p JOIN ods_contract c ON c.crm_id = p.crm_id
             LEFT JOIN (SELECT DISTINCT renewed_from FROM ods_contract) r
               ON r.renewed_from = c.contract_id
             WHERE c.end_date >= p.start_date
               AND c.end_date <= CAST('{}' AS DATE) - INTERVAL '2 days'
             GROUP BY p.plan",
            end_date()
        ),
    )
    .await;
    let [(a, rate_a, n_a), (bb, rate_b, n_b)] = renewal.as_slice() else {
        panic!("both arms have ending contracts: {renewal:?}");
    };
    assert_eq!((a.as_str(), bb.as_str()), ("A", "B"));
    assert!(*n_a >= 20 && *n_b >= 20, "{renewal:?}");
    assert!(
        rate_b > rate_a,
        "plan B renews more than plan A: {renewal:?}"
    );

    // NPS: valid answers submitted from the plan start on score higher under plan B.
    const { assert!(PLAN_B_NPS_LIFT > 0.0) };
    let nps = by_plan(
        &ctx,
        "SELECT p.plan, AVG(CAST(TRIM(s.score) AS DOUBLE)), COUNT(*)
         FROM ods_cs_plan p JOIN ods_survey s ON s.crm_id = p.crm_id
         WHERE s.survey_type = 'NPS' AND s.ds >= p.start_date
           AND TRIM(s.score) IN ('0','1','2','3','4','5','6','7','8','9','10')
         GROUP BY p.plan",
    )
    .await;
    let [(_, nps_a, _), (_, nps_b, _)] = nps.as_slice() else {
        panic!("both arms answered NPS surveys: {nps:?}");
    };
    assert!(nps_b > nps_a, "plan B scores higher NPS: {nps:?}");
    eprintln!("enrolled {n} ({b} in B); renewal (plan, share, contracts) {renewal:?}; NPS {nps:?}");
}

#[test]
fn nobody_is_enrolled_when_the_window_is_too_short() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outcome = generate(dir.path(), 300, 200, 7, DirtyRates::default());
    let reported = outcome
        .tables
        .iter()
        .find(|t| t.table == "ods_cs_plan")
        .expect("outcome lists ods_cs_plan");
    assert_eq!(reported.rows, 0);
    assert!(!dir.path().join("ods/ods_cs_plan").exists());
    let truth = read_file(&dir.path().join("truth/customer_truth.parquet"));
    let plan = truth.column_by_name("cs_plan").expect("cs_plan column");
    assert_eq!(plan.null_count(), plan.len(), "nobody has a plan");
}
