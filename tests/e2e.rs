//! A small pipeline ODS -> DWD -> DWS -> ADS on hand-made Parquet; outputs are read back with an
//! independent reader and compared with values computed by hand.

mod util;

use util::mini::mini_project;
use util::{pretty, query_dir};

#[tokio::test]
async fn mini_pipeline_end_to_end() {
    let p = mini_project();
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(
        out.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains("ok      ads_city_sales"),
        "{}",
        out.stderr
    );

    let wh = p.path().join("warehouse");
    // dwd_order: O1 paid 100, O2 refunded (later landing), O4 paid with business date 11-21.
    let orders = query_dir(
        &wh.join("dwd/dwd_order"),
        "SELECT order_id, status, CAST(order_date AS VARCHAR) AS d FROM t ORDER BY order_id",
    )
    .await;
    assert_eq!(
        pretty(&orders),
        "+----------+----------+------------+\n\
         | order_id | status   | d          |\n\
         +----------+----------+------------+\n\
         | O1       | paid     | 2026-11-20 |\n\
         | O2       | refunded | 2026-11-20 |\n\
         | O4       | paid     | 2026-11-21 |\n\
         +----------+----------+------------+"
    );
    // dws: C1 has O1 + O4 = 170 in 2 orders; C2's only order was refunded.
    let sales = query_dir(
        &wh.join("dws/dws_customer_sales"),
        "SELECT CAST(ds AS VARCHAR) AS ds, customer_id, paid_orders, paid_amount FROM t ORDER BY customer_id",
    )
    .await;
    assert_eq!(
        pretty(&sales),
        "+------------+-------------+-------------+-------------+\n\
         | ds         | customer_id | paid_orders | paid_amount |\n\
         +------------+-------------+-------------+-------------+\n\
         | 2026-11-21 | C1          | 2           | 170.0       |\n\
         | 2026-11-21 | C2          | 0           | 0.0         |\n\
         +------------+-------------+-------------+-------------+"
    );
    // ads: C1 moved to Shenzhen (latest update wins).
    let cities = query_dir(
        &wh.join("ads/ads_city_sales"),
        "SELECT city, customers, paid_amount FROM t ORDER BY city",
    )
    .await;
    assert_eq!(
        pretty(&cities),
        "+----------+-----------+-------------+\n\
         | city     | customers | paid_amount |\n\
         +----------+-----------+-------------+\n\
         | Shanghai | 1         | 0.0         |\n\
         | Shenzhen | 1         | 170.0       |\n\
         +----------+-----------+-------------+"
    );

    // A run for the next day adds a partition beside the first; a var raises the threshold.
    let out = p.strata(&["run", "--ds", "2026-11-22", "--var", "min_amount=80"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sales = query_dir(
        &wh.join("dws/dws_customer_sales"),
        "SELECT CAST(ds AS VARCHAR) AS ds, customer_id, paid_orders, paid_amount FROM t ORDER BY ds, customer_id",
    )
    .await;
    // 11-22 with min_amount 80: C1 keeps O1 (100) only; C2 gets O5 (999).
    assert_eq!(
        pretty(&sales),
        "+------------+-------------+-------------+-------------+\n\
         | ds         | customer_id | paid_orders | paid_amount |\n\
         +------------+-------------+-------------+-------------+\n\
         | 2026-11-21 | C1          | 2           | 170.0       |\n\
         | 2026-11-21 | C2          | 0           | 0.0         |\n\
         | 2026-11-22 | C1          | 1           | 100.0       |\n\
         | 2026-11-22 | C2          | 1           | 999.0       |\n\
         +------------+-------------+-------------+-------------+"
    );

    // Rerunning 11-21 replaces exactly that partition: same rows, no duplicates.
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let count = query_dir(
        &wh.join("dws/dws_customer_sales"),
        "SELECT CAST(ds AS VARCHAR) AS ds, COUNT(*) AS n FROM t GROUP BY ds ORDER BY ds",
    )
    .await;
    assert_eq!(
        pretty(&count),
        "+------------+---+\n\
         | ds         | n |\n\
         +------------+---+\n\
         | 2026-11-21 | 2 |\n\
         | 2026-11-22 | 2 |\n\
         +------------+---+"
    );
}

#[test]
fn show_sql_and_ls_read_the_current_release() {
    let p = mini_project();
    assert_eq!(p.strata(&["run", "--ds", "2026-11-21", "-q"]).code, 0);
    let out = p.strata(&[
        "sql",
        "SELECT customer_id, paid_amount FROM dws_customer_sales ORDER BY customer_id",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("| C1          | 170.0       |"),
        "{}",
        out.stdout
    );
    let out = p.strata(&["show", "dwd_customer", "--limit", "1", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    // JSON keeps every double's bits and a decimal's exact digits (as text), and says null.
    let out = p.strata(&[
        "sql",
        "SELECT CAST(0.36995516654807925 AS DOUBLE) AS v, CAST('12345678901234567.89' AS DECIMAL(20, 2)) AS d, CAST(NULL AS BIGINT) AS n, CAST(7 AS BIGINT) AS i",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("0.36995516654807925")
            && out.stdout.contains("\"12345678901234567.89\"")
            && out.stdout.contains("\"n\": null")
            && out.stdout.contains("\"i\": 7"),
        "{}",
        out.stdout
    );
    let out = p.strata(&["ls"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("ads_city_sales"), "{}", out.stdout);
    let out = p.strata(&["sql", "DROP TABLE dwd_order"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let out = p.strata(&["show", "dwd_ordr"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("did you mean `dwd_order`?"),
        "{}",
        out.stderr
    );
}
