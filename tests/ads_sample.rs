//! The bundled pipeline on the committed sample (`data/ods`: 2,000 customers, about 13 months
//! ending 2026-11-21), run by the real binary: every ADS table is filled, has the contract schema,
//! and its totals reconcile with DWD, recomputed here with independent queries over the DWD
//! tables the same run published.

mod util;

use util::crm_fixture::{DS, assert_ads_schemas, copy_tree, rows, warehouse_context};
use util::ods::crm_project;

fn one(v: Vec<String>) -> String {
    assert_eq!(v.len(), 1, "{v:?}");
    v.into_iter().next().unwrap()
}

#[tokio::test]
async fn sample_run_fills_every_ads_table_and_reconciles_with_dwd() {
    let sample = util::repo_root().join("data/ods");
    assert!(
        sample.is_dir(),
        "the committed sample {sample:?} is missing (strata generate crm ... --out data)"
    );
    let p = crm_project();
    copy_tree(&sample, &p.path().join("data/ods"));
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", DS]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stdout
            .contains("0 failed, 0 blocked by checks, 0 skipped"),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    let wh = p.path().join("warehouse");
    assert_ads_schemas(&wh, DS);
    let ctx = warehouse_context(&wh).await;
    let count = |sql: String| {
        let ctx = ctx.clone();
        async move { one(rows(&ctx, &sql).await).parse::<i64>().unwrap() }
    };
    let today = format!("ds = DATE '{DS}'");

    // Every ADS table has rows (partitioned ones in this run's partition).
    for (table, partitioned) in [
        ("ads_rfm_score", true),
        ("ads_nps_csat_monthly", false),
        ("ads_churn_warning", true),
        ("ads_customer_profile", true),
        ("ads_followup_compliance", false),
        ("ads_followup_reminder", true),
        ("ads_customer_health_monthly", false),
        ("ads_churn_risk", true),
        ("ads_sales_forecast", true),
        ("ads_cs_plan_experiment", false),
    ] {
        let filter = if partitioned {
            format!("WHERE {today}")
        } else {
            String::new()
        };
        let n = count(format!("SELECT COUNT(*) FROM {table} {filter}")).await;
        assert!(n > 0, "{table} is empty");
    }

    // One row per customer: snapshot, RFM and profile have exactly dwd_customer's customers.
    let customers = count("SELECT COUNT(*) FROM dwd_customer".into()).await;
    assert!(customers > 1000, "{customers} customers");
    for table in [
        "dws_customer_snapshot",
        "ads_rfm_score",
        "ads_customer_profile",
    ] {
        assert_eq!(
            count(format!(
                "SELECT COUNT(DISTINCT t.customer_id) FROM {table} t \
                 JOIN dwd_customer c ON c.customer_id = t.customer_id WHERE t.{today}"
            ))
            .await,
            customers,
            "{table} customers"
        );
        assert_eq!(
            count(format!("SELECT COUNT(*) FROM {table} WHERE {today}")).await,
            customers,
            "{table} rows"
        );
    }

    // RFM frequency and monetary add up to the paid orders of (ds-365, ds] in dwd_order.
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT (SELECT SUM(frequency_365d) FROM ads_rfm_score WHERE {today}) = COUNT(*), \
             abs((SELECT SUM(monetary_365d) FROM ads_rfm_score WHERE {today}) - SUM(amount_cny)) < 0.01 \
             FROM dwd_order WHERE status = 'paid' AND order_date <= DATE '{DS}' \
             AND order_date > DATE '{DS}' - INTERVAL '365 days'"
        )).await,
        ["true | true"]
    );
    // Tiers follow the score: every 高价值 scores at least as much as any 潜力型, and so on down
    // (a tier may be empty: ties share a rank, so with many zero scores nobody reaches p >= 0.8).
    let tier = |agg: &str, t: &str| {
        format!("(SELECT {agg}(rfm_score) FROM ads_rfm_score WHERE {today} AND value_tier = '{t}')")
    };
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT COALESCE({} >= {}, true) AS high_over_mid, COALESCE({} >= {}, true) AS mid_over_low",
            tier("MIN", "高价值"), tier("MAX", "潜力型"), tier("MIN", "潜力型"), tier("MAX", "低活跃")
        )).await,
        ["true | true"]
    );
    // Prospects are exactly the customers without a paid order.
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM ads_customer_profile WHERE {today} AND customer_type = '潜在客户'"
        ))
        .await,
        count(format!(
            "SELECT COUNT(*) FROM dwd_customer c WHERE NOT EXISTS (SELECT 1 FROM dwd_order o \
             WHERE o.customer_id = c.customer_id AND o.status = 'paid' AND o.order_date <= DATE '{DS}')"
        ))
        .await
    );

    // NPS/CSAT per month: the 'all' row counts every valid dwd_survey answer of the month, and
    // every other dimension splits exactly those answers.
    let by_month = rows(
        &ctx,
        &format!(
            "SELECT CAST(date_trunc('month', submit_date) AS DATE) AS month, \
         SUM(CASE WHEN survey_type = 'NPS' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN survey_type = 'NPS' AND score >= 9 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN survey_type = 'NPS' AND score <= 6 THEN 1 ELSE 0 END), \
         SUM(CASE WHEN survey_type = 'CSAT' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN survey_type = 'CSAT' AND score >= 4 THEN 1 ELSE 0 END) \
         FROM dwd_survey WHERE submit_date <= DATE '{DS}' GROUP BY 1 ORDER BY 1"
        ),
    )
    .await;
    assert!(by_month.len() >= 12, "{by_month:?}");
    for dimension in ["all", "value_tier", "industry", "province"] {
        assert_eq!(
            rows(
                &ctx,
                &format!(
                    "SELECT month, SUM(nps_responses), SUM(promoters), SUM(detractors), \
                 SUM(csat_responses), SUM(csat_satisfied) FROM ads_nps_csat_monthly \
                 WHERE dimension = '{dimension}' GROUP BY month ORDER BY month"
                )
            )
            .await,
            by_month,
            "dimension {dimension}"
        );
    }

    // Monthly health: active customers are those with a paid order or an interaction in the month.
    let active = rows(&ctx, &format!(
        "SELECT month, COUNT(DISTINCT customer_id) FROM ( \
           SELECT CAST(date_trunc('month', order_date) AS DATE) AS month, customer_id FROM dwd_order \
           WHERE status = 'paid' AND order_date <= DATE '{DS}' \
           UNION ALL \
           SELECT CAST(date_trunc('month', interaction_date) AS DATE), customer_id FROM dwd_interaction \
           WHERE interaction_date <= DATE '{DS}') \
         GROUP BY month ORDER BY month"
    ))
    .await;
    assert_eq!(
        rows(
            &ctx,
            "SELECT month, active_customers FROM ads_customer_health_monthly \
             WHERE active_customers > 0 ORDER BY month"
        )
        .await,
        active
    );
    let complete = count(
        "SELECT COUNT(*) FROM ads_customer_health_monthly WHERE renewal_rate IS NOT NULL \
         AND cross_sell_rate IS NOT NULL AND nps IS NOT NULL AND csat IS NOT NULL"
            .into(),
    )
    .await;
    assert!(complete > 0, "no month has all health metrics");

    // Follow-up compliance covers every accepted lead once; rates are fractions.
    assert_eq!(
        count("SELECT SUM(leads) FROM ads_followup_compliance".into()).await,
        count("SELECT COUNT(*) FROM dwd_lead".into()).await
    );
    // Renewal reminders are exactly the active contracts ending in [ds, ds+7).
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM ads_followup_reminder WHERE {today} AND reminder_type = 'renewal'"
        ))
        .await,
        count(format!(
            "SELECT COUNT(*) FROM dwd_contract WHERE start_date <= DATE '{DS}' \
             AND end_date >= DATE '{DS}' AND end_date < DATE '{DS}' + INTERVAL '7 days'"
        ))
        .await
    );
    // Churn: the level is the highest triggered reason.
    assert_eq!(
        count(format!(
            "SELECT COUNT(*) FROM ads_churn_warning WHERE {today} AND warning_level <> CASE \
             WHEN reasons LIKE '%competitor_trial%' THEN 'red' \
             WHEN reasons LIKE '%no_interaction_60d%' OR reasons LIKE '%renewal_risk%' THEN 'orange' \
             ELSE 'yellow' END"
        ))
        .await,
        0
    );

    // Churn (README, "Churn"): one row per customer active at ds, recounted here from DWD:
    // a paid order or a product-usage event in (ds - 90, ds].
    assert_eq!(
        count(format!("SELECT COUNT(*) FROM ads_churn_risk WHERE {today}")).await,
        count(format!(
            "SELECT COUNT(*) FROM (SELECT customer_id FROM dwd_order WHERE status = 'paid' \
             AND order_date > DATE '{DS}' - INTERVAL '90 days' AND order_date <= DATE '{DS}' \
             UNION SELECT customer_id FROM dwd_product_usage WHERE events > 0 \
             AND usage_date > DATE '{DS}' - INTERVAL '90 days' AND usage_date <= DATE '{DS}')"
        ))
        .await
    );
    // The generator plants churn (activity fades over the 90 days before a churn day, churners
    // draw competitor trials and answer surveys worse, and do not renew): the forest must rank
    // the holdout well above recency alone.
    let runs = wh.join("_meta/models/dws_churn_score");
    let run = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("metrics.json")).unwrap()).unwrap();
    let (auc, recency) = (
        m["auc"].as_f64().unwrap(),
        m["baseline"]["auc"].as_f64().unwrap(),
    );
    let (precision, base) = (
        m["precision_at_decile"].as_f64().unwrap(),
        m["base_rate"].as_f64().unwrap(),
    );
    assert!(
        auc >= 0.72 && auc >= recency + 0.06,
        "AUC {auc}, recency alone {recency}"
    );
    assert!(
        precision >= 3.0 * base,
        "precision@10% {precision}, base rate {base}"
    );
    assert_eq!(m["adopted"], true);

    // Sales forecast: every category with paid orders, the three months after the last
    // complete one.
    assert_eq!(
        rows(&ctx, &format!(
            "SELECT CAST(month AS VARCHAR), COUNT(*) FROM ads_sales_forecast WHERE {today} GROUP BY 1 ORDER BY 1"
        )).await,
        ["2026-11-01 | 8", "2026-12-01 | 8", "2027-01-01 | 8"]
    );
    assert_eq!(
        count(format!(
            "SELECT COUNT(DISTINCT product_category) FROM dwd_order WHERE status = 'paid' \
             AND order_date <= DATE '{DS}'"
        ))
        .await,
        8
    );
}
