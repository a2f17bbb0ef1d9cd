//! Write, audit, publish: failing checks block publication and their descendants only; releases
//! are atomic; the run lock admits one run; reruns are idempotent; rollback works.

mod util;

use std::path::Path;

use util::crm_fixture::copy_tree;
use util::mini::{PIPELINE, mini_project};
use util::{pretty, query_dir};

/// Sum of paid_amount in the published ADS table, read through the stable reader path.
async fn ads_total(wh: &Path) -> String {
    pretty(
        &query_dir(
            &wh.join("ads/ads_city_sales"),
            "SELECT SUM(paid_amount) AS total FROM t",
        )
        .await,
    )
}

async fn customer_cities(wh: &Path) -> String {
    pretty(
        &query_dir(
            &wh.join("dwd/dwd_customer"),
            "SELECT customer_id, city FROM t ORDER BY customer_id",
        )
        .await,
    )
}

fn with_checks(checks_yaml: &str) -> String {
    PIPELINE.replace(
        "    sql: sql/dwd/dwd_customer.sql\n",
        &format!("    sql: sql/dwd/dwd_customer.sql\n    checks:\n{checks_yaml}"),
    )
}

#[tokio::test]
async fn failing_check_blocks_its_table_and_descendants_only() {
    let p = mini_project();
    let wh = p.path().join("warehouse");
    assert_eq!(p.strata(&["run", "--ds", "2026-11-20", "-q"]).code, 0);
    let before = customer_cities(&wh).await;
    assert!(before.contains("Beijing"), "{before}");
    // On the 21st C1 moves to Shenzhen, which this check forbids.
    p.write(
        "pipelines/mini.yaml",
        &with_checks("      - expression: \"city <> 'Shenzhen'\"\n        name: no_shenzhen\n      - unique: customer_id\n"),
    );
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("BLOCKED dwd_customer"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("FAIL  dwd_customer.no_shenzhen: 1 of 2 rows fail; e.g. C1"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("skipped dws_customer_sales"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("skipped ads_city_sales"),
        "{}",
        out.stderr
    );
    // The blocked table keeps the previous data; the sibling branch published.
    assert_eq!(customer_cities(&wh).await, before);
    let orders = query_dir(&wh.join("dwd/dwd_order"), "SELECT COUNT(*) AS n FROM t").await;
    assert!(pretty(&orders).contains("| 3 |"), "{}", pretty(&orders));
    assert!(!wh.join("dws/dws_customer_sales/ds=2026-11-21").exists());
    // The record says so, and `strata checks` shows it.
    let out = p.strata(&["checks"]);
    assert!(out.stdout.contains("checks_failed"), "{}", out.stdout);
    assert!(out.stdout.contains("no_shenzhen"), "{}", out.stdout);
    let results = query_dir(
        &wh.join("_meta/check_results"),
        "SELECT check_name, status, failing_rows FROM t WHERE status <> 'pass'",
    )
    .await;
    assert!(
        pretty(&results).contains("| no_shenzhen | fail   | 1            |"),
        "{}",
        pretty(&results)
    );
}

#[tokio::test]
async fn warn_check_reports_but_publishes() {
    let p = mini_project();
    p.write(
        "pipelines/mini.yaml",
        &with_checks("      - expression: \"city <> 'Shenzhen'\"\n        severity: warn\n"),
    );
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("WARN"), "{}", out.stdout);
    assert!(
        customer_cities(&p.path().join("warehouse"))
            .await
            .contains("Shenzhen")
    );
}

#[tokio::test]
async fn rerun_gives_identical_rows_and_rollback_restores() {
    let p = mini_project();
    let wh = p.path().join("warehouse");
    assert_eq!(p.strata(&["run", "--ds", "2026-11-21", "-q"]).code, 0);
    let first = pretty(
        &query_dir(
            &wh.join("ads/ads_city_sales"),
            "SELECT * FROM t ORDER BY city",
        )
        .await,
    );
    assert_eq!(p.strata(&["run", "--ds", "2026-11-21", "-q"]).code, 0);
    let second = pretty(
        &query_dir(
            &wh.join("ads/ads_city_sales"),
            "SELECT * FROM t ORDER BY city",
        )
        .await,
    );
    assert_eq!(first, second);
    // ds 22 adds O5 (999): 170 + 999.
    assert_eq!(p.strata(&["run", "--ds", "2026-11-22", "-q"]).code, 0);
    assert!(ads_total(&wh).await.contains("1169.0"));
    let out = p.strata(&["rollback"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        ads_total(&wh).await.contains("170.0"),
        "{}",
        ads_total(&wh).await
    );
    let out = p.strata(&["runs"]);
    assert_eq!(out.stdout.lines().count(), 4, "{}", out.stdout);
    let out = p.strata(&["rollback", "--to", "nope"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("kept releases:"), "{}", out.stderr);
}

#[test]
fn lock_held_by_a_live_process_stops_a_run() {
    let p = mini_project();
    let meta = p.path().join("warehouse/_meta");
    std::fs::create_dir_all(&meta).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let holder = format!(
        r#"{{"run_id": "20261122T010000.000Z-abcdef", "host": "{}", "pid": {}, "started_at": "2026-11-22T01:00:00Z"}}"#,
        host.trim(),
        std::process::id()
    );
    std::fs::write(meta.join("lock.json"), &holder).unwrap();
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "error: the warehouse is locked by run 20261122T010000.000Z-abcdef on host {} (pid {})",
            host.trim(),
            std::process::id()
        )),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--break-lock"));
    assert_eq!(
        p.strata(&["run", "--ds", "2026-11-21", "-q", "--break-lock"])
            .code,
        0
    );
    // A lock from a machine with the same host name but another boot (or PID namespace) is
    // not provably dead, though no such process runs here.
    let elsewhere = holder
        .replace(&std::process::id().to_string(), "4194303")
        .replace(
            "\"started_at\"",
            "\"machine\": \"00000000-0000-0000-0000-000000000000 pid:[1]\", \"started_at\"",
        );
    std::fs::write(meta.join("lock.json"), &elsewhere).unwrap();
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("error: the warehouse is locked by"),
        "{}",
        out.stderr
    );
    // A lock strata did not write is not taken over without --break-lock.
    std::fs::write(meta.join("lock.json"), "not json").unwrap();
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("is not a lock strata wrote (unreadable)")
            && out.stderr.contains("pass --break-lock"),
        "{}",
        out.stderr
    );
    // A lock whose process is gone (on this machine, as far as the lock tells) is taken over
    // without asking.
    std::fs::write(
        meta.join("lock.json"),
        holder.replace(&std::process::id().to_string(), "4194303"),
    )
    .unwrap();
    assert_eq!(p.strata(&["run", "--ds", "2026-11-21", "-q"]).code, 0);
    assert!(
        !meta.join("lock.json").exists(),
        "a finished run releases its lock"
    );
}

#[test]
fn two_concurrent_runs_one_proceeds() {
    let p = mini_project();
    // A slow extra stage keeps the first run busy long enough to overlap.
    let slow =
        format!("{PIPELINE}  - name: dws_slow\n    layer: dws\n    sql: sql/dws/dws_slow.sql\n");
    p.write("pipelines/mini.yaml", &slow);
    p.write(
        "sql/dws/dws_slow.sql",
        "SELECT COUNT(*) AS n FROM dwd_order CROSS JOIN (SELECT value FROM generate_series(1, 30000000)) g WHERE g.value % 7 = 3\n",
    );
    let bin = env!("CARGO_BIN_EXE_strata");
    let spawn = || {
        std::process::Command::new(bin)
            .args(["run", "--ds", "2026-11-21", "-q"])
            .current_dir(p.path())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn();
    let b = spawn();
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let codes: Vec<i32> = outs.iter().map(|o| o.status.code().unwrap()).collect();
    let ok = codes.iter().filter(|&&c| c == 0).count();
    let errs: Vec<_> = outs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert_eq!(ok, 1, "exactly one run proceeds: {codes:?} {errs:?}");
    let loser = outs.iter().find(|o| o.status.code() != Some(0)).unwrap();
    let err = String::from_utf8_lossy(&loser.stderr);
    assert!(
        err.contains("error: the warehouse is locked by run "),
        "{err}"
    );
}

/// The run id `_meta/current.json` names.
fn current_id(wh: &Path) -> String {
    let pointer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("_meta/current.json")).unwrap()).unwrap();
    pointer["run_id"].as_str().unwrap().to_string()
}

/// A tree left by a run that died (here: a copy of the current release with its completion
/// marker, as strata before 2026-11-30 left them) is not a release: rollback skips it, the next
/// run removes it, and pruning does not count it. Rollback follows the release each was built
/// from, so a release that was rolled back is not returned to.
#[tokio::test]
async fn dead_runs_trees_are_not_releases_and_rollback_follows_the_base() {
    let p = mini_project();
    let wh = p.path().join("warehouse");
    let run = |args: &[&str]| {
        let mut all = vec!["run", "-q"];
        all.extend_from_slice(args);
        let out = p.strata(&all);
        assert_eq!(out.code, 0, "{}", out.stderr);
        current_id(&wh)
    };
    let r1 = run(&["--ds", "2026-11-21"]);
    let r2 = run(&["--ds", "2026-11-22"]);
    // 170 on the 21st; O5 (999) lands on the 22nd.
    assert!(ads_total(&wh).await.contains("1169.0"));
    let dead = "29991231T000000.000Z-dead01";
    copy_tree(
        &wh.join("_releases").join(&r2),
        &wh.join("_releases").join(dead),
    );
    // A run that died after marking its tree but before the pointer moved: the marker names
    // the tree and says it was not published.
    let unpublished = "29991231T000000.000Z-dead02";
    copy_tree(
        &wh.join("_releases").join(&r2),
        &wh.join("_releases").join(unpublished),
    );
    let marker = wh.join("_releases").join(unpublished).join("_release.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&marker).unwrap()).unwrap();
    m["run_id"] = unpublished.into();
    m["published"] = false.into();
    std::fs::write(&marker, serde_json::to_vec(&m).unwrap()).unwrap();
    for tree in [unpublished, dead] {
        let out = p.strata(&["rollback", "--to", tree]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!("no release `{tree}`")),
            "{}",
            out.stderr
        );
    }
    // Back to what r2 was built from.
    let out = p.strata(&["rollback"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(current_id(&wh), r1);
    assert!(ads_total(&wh).await.contains("170.0"));
    // A new release built on r1: the dead tree is removed at its start.
    let r3 = run(&["--ds", "2026-11-22", "--force"]);
    assert!(!wh.join("_releases").join(dead).exists());
    assert!(!wh.join("_releases").join(unpublished).exists());
    // Rolling back from r3 returns to r1, not to the rolled-back r2.
    let out = p.strata(&["rollback"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(current_id(&wh), r1, "r3 was {r3}");
    // keep_releases 3 keeps three releases, the current one included: r4, the release it was
    // built from (r1), then the newest other (r3); r2, rolled back from, goes.
    let r4 = run(&["--ds", "2026-11-22", "--force"]);
    let mut kept: Vec<String> = std::fs::read_dir(wh.join("_releases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept, vec![r1.clone(), r3, r4], "r2 was {r2}");
    // So a plain rollback right after the run still has its release to return to.
    let out = p.strata(&["rollback"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(current_id(&wh), r1);
}

/// A check that cannot be evaluated (its query fails) blocks its stage like a failing one, and
/// the stage line says it could not run, and why, rather than counting failing rows.
#[test]
fn a_check_that_cannot_run_blocks_and_says_why() {
    let p = mini_project();
    p.write(
        "pipelines/mini.yaml",
        &with_checks(
            "      - sql: \"SELECT customer_id FROM this WHERE no_such_column > 1\"\n        name: broken_query\n",
        ),
    );
    let out = p.strata(&["run", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("BLOCKED dwd_customer                     dwd  failed checks: broken_query (could not run: ")
            && out.stderr.contains("no_such_column"),
        "{}",
        out.stderr
    );
    assert!(!p.path().join("warehouse/dwd/dwd_customer").exists());
}
