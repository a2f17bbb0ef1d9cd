//! Column-level lineage: the walker on small hand-written queries, and `strata lineage` on the
//! bundled pipeline against expectations read off the stage SQL by hand.

mod util;

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use strata::engine::lineage::{Derivation, Origins, column_origins};
use util::crm_fixture::DS;
use util::ods::crm_project;

use Derivation::{Aggregation as A, Direct as D, Transformation as T};

async fn origins_of(query: &str) -> Vec<(String, Origins)> {
    let ctx = SessionContext::new();
    let table = |cols: &[(&str, DataType)]| {
        let schema = Schema::new(
            cols.iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        );
        Arc::new(MemTable::try_new(Arc::new(schema), vec![vec![]]).unwrap())
    };
    use DataType::{Float64, Int64, Utf8};
    ctx.register_table(
        "orders",
        table(&[
            ("id", Int64),
            ("cust", Utf8),
            ("amount", Float64),
            ("cur", Utf8),
        ]),
    )
    .unwrap();
    ctx.register_table("fx", table(&[("cur", Utf8), ("rate", Float64)]))
        .unwrap();
    ctx.register_table("shop", table(&[("cust", Utf8), ("spend", Float64)]))
        .unwrap();
    let plan = ctx.sql(query).await.unwrap().logical_plan().clone();
    let names = plan.schema().fields().iter().map(|f| f.name().clone());
    names.zip(column_origins(&plan)).collect()
}

fn o(items: &[(&str, &str, Derivation)]) -> Origins {
    items
        .iter()
        .map(|(t, c, d)| ((t.to_string(), c.to_string()), *d))
        .collect()
}

#[tokio::test]
async fn copies_transformations_and_aggregations_are_told_apart() {
    let got = origins_of(
        "WITH conv AS (
           SELECT o.cust AS customer, o.amount * f.rate AS cny, o.cur
           FROM orders o JOIN fx f ON f.cur = o.cur WHERE o.amount > 0)
         SELECT customer, SUM(cny) AS total, upper(cur) AS currency,
                COUNT(*) AS n
         FROM conv GROUP BY customer, upper(cur)",
    )
    .await;
    // By hand: customer is orders.cust renamed twice; total sums amount * rate; currency is
    // upper() of a grouping key; COUNT(*) reads no column's value. The join key f.cur and the
    // filter on amount choose rows and are no origins of their own.
    assert_eq!(
        got,
        vec![
            ("customer".into(), o(&[("orders", "cust", D)])),
            (
                "total".into(),
                o(&[("orders", "amount", A), ("fx", "rate", A)])
            ),
            ("currency".into(), o(&[("orders", "cur", T)])),
            ("n".into(), o(&[])),
        ]
    );
}

#[tokio::test]
async fn unions_windows_and_subqueries_keep_every_branch() {
    let got = origins_of(
        "SELECT cust, v, ROW_NUMBER() OVER (PARTITION BY cust ORDER BY v DESC) AS rk,
                (SELECT MAX(rate) FROM fx) AS top_rate
         FROM (SELECT cust, amount AS v FROM orders
               UNION ALL SELECT cust, CAST(spend AS DOUBLE) FROM shop) u",
    )
    .await;
    // By hand: both branches feed each column (amount copied, spend cast); the rank is computed
    // from its ORDER BY column (not from the partition key); the scalar subquery's MAX is an
    // aggregation of fx.rate.
    assert_eq!(
        got,
        vec![
            (
                "cust".into(),
                o(&[("orders", "cust", D), ("shop", "cust", D)])
            ),
            (
                "v".into(),
                o(&[("orders", "amount", D), ("shop", "spend", T)])
            ),
            (
                "rk".into(),
                o(&[("orders", "amount", A), ("shop", "spend", A)])
            ),
            ("top_rate".into(), o(&[("fx", "rate", A)])),
        ]
    );
}

/// `strata lineage TARGET --format json [--downstream]` on the bundled pipeline.
fn lineage_json(args: &[&str]) -> serde_json::Value {
    let p = crm_project();
    let mut all = vec!["lineage"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--ds", DS, "--format", "json"]);
    let out = p.strata(&all);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

fn children(node: &serde_json::Value) -> BTreeSet<String> {
    node["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}.{} {}",
                c["table"].as_str().unwrap(),
                c["column"].as_str().unwrap(),
                c["derivation"].as_str().unwrap()
            )
        })
        .collect()
}

fn leaves(node: &serde_json::Value, out: &mut BTreeSet<String>) {
    let kids = node["children"].as_array().unwrap();
    if kids.is_empty() {
        out.insert(format!(
            "{}.{}",
            node["table"].as_str().unwrap(),
            node["column"].as_str().unwrap()
        ));
    }
    for k in kids {
        leaves(k, out);
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn bundled_pipeline_columns_trace_back_to_their_sources() {
    // Expectations read off the stage SQL:
    // - ads_rfm_score.monetary_365d = CAST(dws_customer_rfm_base.monetary_365d AS DOUBLE); that is
    //   a 365-day SUM over dwd_order of amount_cny (CASE on order_date), and amount_cny =
    //   round(ods_order.amount * seed_fx_rates.rate_to_cny, 2) in dwd_order_triage.
    // - dwd_customer.phone = first_value(phone) over the CRM phone, ERP tel, shop mobile.
    // - dwd_customer.first_seen_at = MIN of each system's MIN(created_at / updated_at /
    //   registered_at) OVER (PARTITION BY its key).
    // - ads_nps_csat_monthly.nps = 100 * (promoters - detractors) / nps_responses, sums of
    //   dws_customer_monthly's counts, which are SUM(CASE on survey_type and score).
    // - dwd_order.order_date: the business date of ods_order.order_time.
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "ads_rfm_score.monetary_365d",
            &["dws_customer_rfm_base.monetary_365d transformation"],
            &[
                "ods_order.amount",
                "ods_order.order_time",
                "seed_fx_rates.rate_to_cny",
            ],
        ),
        (
            "dwd_customer.phone",
            &[
                "ods_crm_customer.phone aggregation",
                "ods_erp_customer.tel aggregation",
                "ods_shop_customer.mobile aggregation",
            ],
            &[
                "ods_crm_customer.phone",
                "ods_erp_customer.tel",
                "ods_shop_customer.mobile",
            ],
        ),
        (
            "dwd_customer.first_seen_at",
            &[
                "ods_crm_customer.created_at aggregation",
                "ods_erp_customer.updated_at aggregation",
                "ods_shop_customer.registered_at aggregation",
            ],
            &[
                "ods_crm_customer.created_at",
                "ods_erp_customer.updated_at",
                "ods_shop_customer.registered_at",
            ],
        ),
        (
            "ads_nps_csat_monthly.nps",
            &[
                "dws_customer_monthly.detractors aggregation",
                "dws_customer_monthly.nps_responses aggregation",
                "dws_customer_monthly.promoters aggregation",
            ],
            &["ods_survey.score", "ods_survey.survey_type"],
        ),
        (
            "dwd_order.order_date",
            &["dwd_order_triage.order_date direct"],
            &["ods_order.order_time"],
        ),
    ];
    for (target, immediate, sources) in cases {
        let v = lineage_json(&[target]);
        let tree = &v["trees"][0];
        assert_eq!(children(tree), set(immediate), "{target}: {tree:#}");
        let mut found = BTreeSet::new();
        leaves(tree, &mut found);
        assert_eq!(found, set(sources), "{target}: {tree:#}");
    }
}

#[test]
fn downstream_reaches_the_reports_and_typos_get_the_closest_name() {
    let v = lineage_json(&["seed_fx_rates.rate_to_cny", "--downstream"]);
    let text = v.to_string();
    for used_by in ["dwd_order_triage", "ads_rfm_score", "ads_customer_profile"] {
        assert!(text.contains(used_by), "{used_by} missing: {v:#}");
    }
    let p = crm_project();
    let out = p.strata(&["lineage", "ads_rfm_scor.monetary_365d", "--ds", DS]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("ads_rfm_score"), "{}", out.stderr);
    let out = p.strata(&["lineage", "ads_rfm_score.monetary", "--ds", DS]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("monetary_365d"), "{}", out.stderr);
}
