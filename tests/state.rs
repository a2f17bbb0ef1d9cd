//! Partition state: provenance per output, skipping unchanged work, past dates, late data,
//! backfills and retries, each on a throwaway copy of the mini pipeline. Expected values are
//! worked out by hand from the fixture in `util/mini.rs`.

mod util;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::mini::{mini_project, write_customers, write_orders};
use util::{Project, pretty, query_dir};

/// The newest run record.
fn last_record(p: &Project) -> serde_json::Value {
    let dir = p.path().join("warehouse/_meta/runs");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    serde_json::from_slice(&std::fs::read(names.last().unwrap()).unwrap()).unwrap()
}

/// `stage -> status` of a run record, in record order.
fn statuses(rec: &serde_json::Value) -> Vec<(String, String)> {
    rec["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn current(p: &Project) -> String {
    std::fs::read_link(p.path().join("warehouse/current"))
        .unwrap()
        .display()
        .to_string()
}

async fn sales(wh: &Path) -> String {
    pretty(
        &query_dir(
            &wh.join("dws/dws_customer_sales"),
            "SELECT CAST(ds AS VARCHAR) AS ds, customer_id, paid_orders, paid_amount FROM t ORDER BY ds, customer_id",
        )
        .await,
    )
}

fn run_ok(p: &Project, args: &[&str]) -> util::Output {
    let out = p.strata(args);
    assert_eq!(out.code, 0, "{args:?}\n{}\n{}", out.stdout, out.stderr);
    out
}

#[test]
fn an_unchanged_rerun_does_no_stage_work() {
    let p = mini_project();
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    let release = current(&p);
    let out = run_ok(&p, &["run", "--ds", "2026-11-21"]);
    assert_eq!(
        statuses(&last_record(&p)),
        pairs(&[
            ("dwd_customer", "unchanged"),
            ("dwd_order", "unchanged"),
            ("dws_customer_sales", "unchanged"),
            ("ads_city_sales", "unchanged"),
        ])
    );
    assert!(
        out.stdout.contains("0 succeeded, 4 unchanged, 0 failed"),
        "{}",
        out.stdout
    );
    assert_eq!(current(&p), release, "no new release for no work");
    // --force rebuilds everything.
    run_ok(&p, &["run", "--ds", "2026-11-21", "--force", "-q"]);
    assert!(
        statuses(&last_record(&p))
            .iter()
            .all(|(_, s)| s == "succeeded")
    );
}

/// Where a run is started from and how the project directory is spelled do not change what it
/// reads: from a subdirectory every stage is unchanged, and a project whose directory name has
/// spaces, Chinese characters and characters special in URLs runs like any other (its sources
/// are found, its tables are equal and written inside it).
#[tokio::test]
async fn the_working_directory_and_the_project_path_do_not_change_a_run() {
    let p = mini_project();
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    let release = current(&p);
    let out = p.strata_in(
        "sql",
        &["run", "../pipelines/mini.yaml", "--ds", "2026-11-21"],
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        statuses(&last_record(&p))
            .iter()
            .all(|(_, s)| s == "unchanged"),
        "{}",
        out.stdout
    );
    assert_eq!(current(&p), release, "no new release for no work");
    let expected = sales(&p.path().join("warehouse/current")).await;

    let q = mini_project();
    // Characters a URL would read otherwise: an escape-like `%41`, `#` (a fragment), `?` (a
    // query), a backslash.
    let named = "客户 项目 a%41#1?x\\y";
    q.nest(named);
    let out = q.strata_in(named, &["run", "--ds", "2026-11-21"], &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        sales(&q.path().join(named).join("warehouse/current")).await,
        expected
    );
    let out = q.strata_in(
        &format!("{named}/sql"),
        &["run", "../pipelines/mini.yaml", "--ds", "2026-11-21"],
        &[],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("0 succeeded, 4 unchanged, 0 failed"),
        "{}",
        out.stdout
    );
    // Nothing was written beside the project (a decoded name is another directory).
    let beside: Vec<_> = std::fs::read_dir(q.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, vec![std::ffi::OsString::from(named)]);
}

#[test]
fn a_changed_sql_file_rebuilds_that_stage_and_its_descendants() {
    let p = mini_project();
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    let sql = std::fs::read_to_string(p.path().join("sql/dwd/dwd_order.sql")).unwrap();
    p.write(
        "sql/dwd/dwd_order.sql",
        &format!("-- orders, latest landing wins\n{sql}"),
    );
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    assert_eq!(
        statuses(&last_record(&p)),
        pairs(&[
            ("dwd_customer", "unchanged"),
            ("dwd_order", "succeeded"),
            ("dws_customer_sales", "succeeded"),
            ("ads_city_sales", "succeeded"),
        ])
    );
    // A variable read only by dws_customer_sales changes it and ads_city_sales only.
    run_ok(
        &p,
        &["run", "--ds", "2026-11-21", "--var", "min_amount=10", "-q"],
    );
    assert_eq!(
        statuses(&last_record(&p)),
        pairs(&[
            ("dwd_customer", "unchanged"),
            ("dwd_order", "unchanged"),
            ("dws_customer_sales", "succeeded"),
            ("ads_city_sales", "succeeded"),
        ])
    );
}

#[tokio::test]
async fn a_past_date_does_not_roll_back_the_full_tables() {
    let p = mini_project();
    // C3 first appears on the 21st.
    write_customers(
        &p,
        "2026-11-21",
        &["C1", "C3"],
        &["Shenzhen", "Hangzhou"],
        &["2026-11-21T01:00:00Z", "2026-11-21T01:00:00Z"],
    );
    let wh = p.path().join("warehouse");
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    let customers = "SELECT customer_id, city FROM t ORDER BY customer_id";
    let latest = pretty(&query_dir(&wh.join("dwd/dwd_customer"), customers).await);
    assert!(
        latest.contains("C3") && latest.contains("Shenzhen"),
        "{latest}"
    );
    let out = run_ok(&p, &["run", "--ds", "2026-11-20"]);
    assert!(
        out.stdout.contains("the full tables stay as of 2026-11-21"),
        "{}",
        out.stdout
    );
    assert_eq!(
        statuses(&last_record(&p)),
        pairs(&[
            ("dwd_customer", "scratch"),
            ("dwd_order", "scratch"),
            ("dws_customer_sales", "succeeded"),
        ])
    );
    // The full tables are still those of the 21st, and every partition's ids exist in them.
    assert_eq!(
        pretty(&query_dir(&wh.join("dwd/dwd_customer"), customers).await),
        latest
    );
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("current/_release.json")).unwrap()).unwrap();
    assert_eq!(marker["ds"], "2026-11-21");
    // The 20th as of the 20th: C1 paid O1 (100), C2 paid O2 (50, refunded only on the 21st);
    // the 21st: C1 paid O1 and O4 (00:30 on the 21st in Shanghai), O2 refunded, C3 nothing.
    assert_eq!(
        sales(&wh).await,
        "+------------+-------------+-------------+-------------+
| ds         | customer_id | paid_orders | paid_amount |
+------------+-------------+-------------+-------------+
| 2026-11-20 | C1          | 1           | 100.0       |
| 2026-11-20 | C2          | 1           | 50.0        |
| 2026-11-21 | C1          | 2           | 170.0       |
| 2026-11-21 | C2          | 0           | 0.0         |
| 2026-11-21 | C3          | 0           | 0.0         |
+------------+-------------+-------------+-------------+"
    );
    // Rerunning the past date does nothing at all.
    run_ok(&p, &["run", "--ds", "2026-11-20", "-q"]);
    assert_eq!(
        statuses(&last_record(&p)),
        pairs(&[("dws_customer_sales", "unchanged")])
    );
}

fn status_of(p: &Project) -> Vec<(String, String, String)> {
    let out = run_ok(p, &["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap().to_string(),
                r["ds"].as_str().unwrap_or("-").to_string(),
                r["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn triples(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[tokio::test]
async fn a_late_file_makes_exactly_the_later_partitions_stale() {
    let p = mini_project();
    let wh = p.path().join("warehouse");
    run_ok(
        &p,
        &["run", "--from", "2026-11-20", "--to", "2026-11-22", "-q"],
    );
    assert!(status_of(&p).iter().all(|(_, _, s)| s == "built"));
    // O6: C2 pays 30 on the 21st, landing late in the partition of the 21st.
    write_orders(
        &p,
        "2026-11-21",
        &[("O6", "C2", 30.0, "paid", "2026-11-21T03:00:00Z")],
    );
    std::fs::rename(
        p.path()
            .join("data/ods/ods_order/ds=2026-11-21/part-0.parquet"),
        p.path()
            .join("data/ods/ods_order/ds=2026-11-21/part-late.parquet"),
    )
    .unwrap();
    // Put the original file back (write_orders overwrote part-0): land it anew.
    write_orders(
        &p,
        "2026-11-21",
        &[
            ("O2", "C2", 50.0, "refunded", "2026-11-20T03:00:00Z"),
            ("O4", "C1", 70.0, "paid", "2026-11-20T16:30:00Z"),
        ],
    );
    // dwd_order (as of the 22nd) read the 21st's landing; so did the partitions of the 21st and
    // 22nd, and ads_city_sales reads the stale partition of the 22nd. The 20th read nothing late.
    let st = status_of(&p);
    assert_eq!(
        st,
        triples(&[
            ("dwd_customer", "2026-11-22", "built"),
            ("dwd_order", "2026-11-22", "stale"),
            ("ads_city_sales", "2026-11-22", "stale"),
            ("dws_customer_sales", "2026-11-20", "built"),
            ("dws_customer_sales", "2026-11-21", "stale"),
            ("dws_customer_sales", "2026-11-22", "stale"),
        ]),
        "{st:?}"
    );
    let text = run_ok(&p, &["status"]).stdout;
    assert!(
        text.contains("input changed: ods_order (ds=2026-11-21)"),
        "{text}"
    );
    assert!(text.contains("upstream stale: dwd_order"), "{text}");
    run_ok(&p, &["run", "--stale", "-q"]);
    assert!(
        status_of(&p).iter().all(|(_, _, s)| s == "built"),
        "{:?}",
        status_of(&p)
    );
    // The 20th kept its values; on the 21st and 22nd C2 has O6 (30); on the 22nd also O5 (999).
    assert_eq!(
        sales(&wh).await,
        "+------------+-------------+-------------+-------------+
| ds         | customer_id | paid_orders | paid_amount |
+------------+-------------+-------------+-------------+
| 2026-11-20 | C1          | 1           | 100.0       |
| 2026-11-20 | C2          | 1           | 50.0        |
| 2026-11-21 | C1          | 2           | 170.0       |
| 2026-11-21 | C2          | 1           | 30.0        |
| 2026-11-22 | C1          | 2           | 170.0       |
| 2026-11-22 | C2          | 2           | 1029.0      |
+------------+-------------+-------------+-------------+"
    );
    // --stale ran the 21st (its partition only) and the 22nd, not the 20th.
    let runs: Vec<serde_json::Value> = std::fs::read_dir(wh.join("_meta/runs"))
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(runs.len(), 5, "3 backfill dates + 2 stale dates");
}

/// Land orders for the 23rd and 24th so the mini pipeline has five dates.
fn five_dates() -> Project {
    let p = mini_project();
    write_orders(
        &p,
        "2026-11-23",
        &[("O7", "C1", 20.0, "paid", "2026-11-23T02:00:00Z")],
    );
    write_orders(
        &p,
        "2026-11-24",
        &[("O7", "C1", 20.0, "cancelled", "2026-11-23T02:00:00Z")],
    );
    p
}

async fn all_tables(wh: &Path) -> String {
    let mut s = sales(wh).await;
    for (dir, q) in [
        ("dwd/dwd_customer", "SELECT * FROM t ORDER BY customer_id"),
        ("dwd/dwd_order", "SELECT * FROM t ORDER BY order_id"),
        ("ads/ads_city_sales", "SELECT * FROM t ORDER BY city"),
    ] {
        s.push_str(&pretty(&query_dir(&wh.join(dir), q).await));
    }
    s
}

fn succeeded_runs(p: &Project) -> usize {
    std::fs::read_dir(p.path().join("warehouse/_meta/runs"))
        .map(|d| {
            d.filter(|e| {
                let bytes = std::fs::read(e.as_ref().unwrap().path()).unwrap_or_default();
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .is_ok_and(|v| v["status"] == "succeeded")
            })
            .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn a_killed_backfill_resumes_and_ends_like_an_uninterrupted_one() {
    let range = ["run", "--from", "2026-11-20", "--to", "2026-11-24", "-q"];
    let whole = five_dates();
    run_ok(&whole, &range);
    let expected = all_tables(&whole.path().join("warehouse")).await;
    assert!(expected.contains("2026-11-24"), "{expected}");

    let p = five_dates();
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(range)
        .current_dir(p.path())
        .env("STRATA_MEMORY_LIMIT", "1GB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while succeeded_runs(&p) < 2 && t.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "killed in the middle, not finished"
    );
    let done = succeeded_runs(&p);
    assert!((2..5).contains(&done), "{done} dates done before the kill");
    run_ok(&p, &range);
    assert_eq!(all_tables(&p.path().join("warehouse")).await, expected);
    // The resumed backfill did no stage work for the dates finished before the kill.
    let mut records: Vec<serde_json::Value> =
        std::fs::read_dir(p.path().join("warehouse/_meta/runs"))
            .unwrap()
            .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
            .collect();
    records.sort_by_key(|r| r["run_id"].as_str().unwrap().to_string());
    let resumed = &records[records.len() - 5..];
    assert_eq!(resumed[0]["ds"], "2026-11-20");
    assert!(
        statuses(&resumed[0]).iter().all(|(_, s)| s == "unchanged"),
        "{:?}",
        resumed[0]
    );
    assert!(
        statuses(&resumed[1]).iter().all(|(_, s)| s == "unchanged"),
        "{:?}",
        resumed[1]
    );
}

#[test]
fn retry_reruns_what_a_blocked_run_did_not_publish() {
    let p = mini_project();
    run_ok(&p, &["run", "--ds", "2026-11-20", "-q"]);
    // A check that fails on the 21st (C1 moves to Shenzhen) blocks dwd_customer.
    let pipeline = util::mini::PIPELINE.replace(
        "    sql: sql/dwd/dwd_customer.sql\n",
        "    sql: sql/dwd/dwd_customer.sql\n    checks:\n      - expression: \"city <> 'Shenzhen'\"\n",
    );
    p.write("pipelines/mini.yaml", &pipeline);
    let out = p.strata(&["run", "--ds", "2026-11-21", "--var", "min_amount=1", "-q"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let blocked = last_record(&p);
    let id = blocked["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        statuses(&blocked),
        pairs(&[
            ("dwd_customer", "blocked"),
            ("dwd_order", "succeeded"),
            ("dws_customer_sales", "skipped"),
            ("ads_city_sales", "skipped"),
        ])
    );
    p.write("pipelines/mini.yaml", util::mini::PIPELINE);
    run_ok(&p, &["run", "--retry", &id, "-q"]);
    let rec = last_record(&p);
    assert_eq!(rec["ds"], "2026-11-21");
    assert_eq!(rec["vars"]["min_amount"], blocked["vars"]["min_amount"]);
    assert_eq!(
        statuses(&rec),
        pairs(&[
            ("dwd_customer", "succeeded"),
            ("dws_customer_sales", "succeeded"),
            ("ads_city_sales", "succeeded"),
        ])
    );
    let out = p.strata(&["run", "--retry", rec["run_id"].as_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nothing to retry"), "{}", out.stderr);
}

/// Settings that change what a function returns are part of the code of the stages that call
/// it: a new `timezone` rebuilds what calls `business_date` (dwd_order) and what reads it, and
/// a new intent dictionary nothing here (no stage calls `intent`).
#[test]
fn function_settings_are_part_of_the_code() {
    let p = mini_project();
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    let yaml = std::fs::read_to_string(p.path().join("pipelines/mini.yaml")).unwrap();
    p.write(
        "pipelines/mini.yaml",
        &format!("{yaml}intents:\n  keywords:\n    价格: [多少钱]\n"),
    );
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    assert!(
        statuses(&last_record(&p))
            .iter()
            .all(|(_, s)| s == "unchanged")
    );
    p.write(
        "pipelines/mini.yaml",
        &yaml.replace("timezone: Asia/Shanghai", "timezone: UTC"),
    );
    let status = run_ok(&p, &["status", "--ds", "2026-11-21"]);
    assert!(
        status.stdout.contains("setting `timezone`"),
        "{}",
        status.stdout
    );
    run_ok(&p, &["run", "--ds", "2026-11-21", "-q"]);
    assert_eq!(
        statuses(&last_record(&p)),
        pairs(&[
            ("dwd_customer", "unchanged"),
            ("dwd_order", "succeeded"),
            ("dws_customer_sales", "succeeded"),
            ("ads_city_sales", "succeeded"),
        ])
    );
}

#[test]
fn a_selected_stage_for_a_new_date_rebuilds_full_tables_of_another_date() {
    // dwd_customer is a full table. After a run for 2026-11-20 it is as of that date (C1 in
    // Beijing); selecting only ads_city_sales for 2026-11-21 must not read it as it is: C1 moved
    // to Shenzhen on the 21st (util/mini.rs), so the 21st's report has Shenzhen and Shanghai.
    let p = mini_project();
    run_ok(&p, &["run", "pipelines/mini.yaml", "--ds", "2026-11-20"]);
    run_ok(
        &p,
        &[
            "run",
            "pipelines/mini.yaml",
            "--ds",
            "2026-11-21",
            "--select",
            "ads_city_sales",
        ],
    );
    let built: Vec<(String, String)> = statuses(&last_record(&p));
    assert!(
        built.contains(&("dwd_customer".to_string(), "succeeded".to_string())),
        "{built:?}"
    );
    let out = run_ok(
        &p,
        &[
            "sql",
            "SELECT city FROM ads_city_sales ORDER BY city",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!([{"city": "Shanghai"}, {"city": "Shenzhen"}])
    );
}
