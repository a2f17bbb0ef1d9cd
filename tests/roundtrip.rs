//! The committed sample's ODS rewritten by pyarrow the way pandas, Spark and Hive write files
//! (see `tests/fixtures/rewrite_like_tools.py`) gives the same tables as the untouched sample.
//!
//! The sample's published files hold plain strings, no Arrow view types (read by pyarrow).
//!
//! pyarrow is the independent writer and reader; `scripts/pyenv.sh` installs it (pinned in
//! `tests/requirements.txt`) into `target/pyenv` the first time.

mod util;

use std::path::Path;
use std::process::Command;

use util::crm_fixture::{bundled_copy, rows, warehouse_context};
use util::{python, repo_root};

const DS: &str = "2026-11-21";

/// Every published table's rows, sorted, by table name.
async fn tables(root: &Path) -> Vec<(String, Vec<String>)> {
    let ctx = warehouse_context(root).await;
    let mut names: Vec<String> = ctx
        .catalog("datafusion")
        .unwrap()
        .schema("public")
        .unwrap()
        .table_names();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        let mut r = rows(&ctx, &format!("SELECT * FROM {name}")).await;
        r.sort();
        out.push((name, r));
    }
    out
}

#[tokio::test]
async fn files_from_pandas_spark_and_hive_give_the_same_tables() {
    let python = python();
    let plain = bundled_copy();
    let out = plain.strata(&["run", "pipelines/crm.yaml", "--ds", DS, "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Every published column is a plain string type, as pyarrow reads the files: a view type
    // (DataFusion's md5 returns Utf8View) once reached customer_id in every DWD and DWS table.
    let views = Command::new(&python)
        .arg(repo_root().join("tests/fixtures/view_columns.py"))
        .arg(plain.path().join("warehouse"))
        .output()
        .unwrap();
    assert!(
        views.status.success(),
        "{}",
        String::from_utf8_lossy(&views.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&views.stdout),
        "",
        "view-typed columns"
    );

    let rewritten = bundled_copy();
    let status = Command::new(&python)
        .arg(repo_root().join("tests/fixtures/rewrite_like_tools.py"))
        .arg(rewritten.path().join("data/ods"))
        .status()
        .unwrap();
    assert!(status.success());
    // The zones the rewritten files' naive timestamps are in: Shanghai wall-clock time for the
    // pandas-written orders, UTC for Spark's INT96.
    let mut patched = std::fs::read_to_string(rewritten.path().join("pipelines/crm.yaml")).unwrap();
    for (source, zone) in [
        ("ods_order", "Asia/Shanghai"),
        ("ods_shop_customer", "UTC"),
        ("ods_lead", "UTC"),
        ("ods_competitor_signal", "UTC"),
    ] {
        let anchor = format!("  - name: {source}\n");
        assert!(patched.contains(&anchor), "{source}");
        patched = patched.replace(&anchor, &format!("{anchor}    naive_timestamps: {zone}\n"));
    }
    rewritten.write("pipelines/crm.yaml", &patched);
    let out = rewritten.strata(&["run", "pipelines/crm.yaml", "--ds", DS, "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let a = tables(&plain.path().join("warehouse")).await;
    let b = tables(&rewritten.path().join("warehouse")).await;
    assert_eq!(
        a.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        b.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    // The comparison is not vacuous: the core tables have rows (steward tables such as the
    // refused keys may rightly be empty on the sample).
    for core in [
        "dwd_customer",
        "dwd_order",
        "ads_rfm_score",
        "ads_customer_profile",
    ] {
        assert!(
            a.iter().any(|(n, rows)| n == core && !rows.is_empty()),
            "{core} is missing or empty"
        );
    }
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        if x != y {
            let first = x.iter().zip(y).position(|(l, r)| l != r);
            panic!(
                "{name} differs: {} vs {} rows; first difference at {first:?}: {:?} vs {:?}",
                x.len(),
                y.len(),
                first.map(|i| &x[i]),
                first.map(|i| &y[i])
            );
        }
    }

    // Without the zone of the orders' naive timestamps the run is refused, naming file and
    // column and the key that fixes it.
    rewritten.write(
        "pipelines/crm.yaml",
        &patched.replacen(
            "  - name: ods_order\n    naive_timestamps: Asia/Shanghai\n",
            "  - name: ods_order\n",
            1,
        ),
    );
    let out = rewritten.strata(&["run", "pipelines/crm.yaml", "--ds", DS]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("ods_order"), "{}", out.stderr);
    assert!(
        out.stderr.contains("column `order_time`") || out.stderr.contains("column `updated_at`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("naive_timestamps"), "{}", out.stderr);
}
