//! Crash safety on the bundled pipeline: SIGKILL the binary at many random moments of a run,
//! and of a backfill over several dates. After every kill an independent reader sees the
//! previous release complete and consistent across all ADS tables, and the next run (or the
//! same backfill again) succeeds, cleans up and continues where the killed one stopped.

mod util;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::prelude::{ParquetReadOptions, SessionContext};
use util::ods::crm_project;

/// The bundled pipeline over `customers` generated customers and `days` days up to
/// 2026-11-21, with `seed`.
fn generated(customers: u32, days: u32, seed: u32) -> util::Project {
    let p = crm_project();
    let (customers, days, seed) = (customers.to_string(), days.to_string(), seed.to_string());
    let out = p.strata(&[
        "generate",
        "crm",
        "--customers",
        &customers,
        "--days",
        &days,
        "--end-date",
        "2026-11-21",
        "--seed",
        &seed,
        "--out",
        "data/ods",
        "--truth",
        "data/truth",
        "-q",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    p
}

/// Read the current release as a report tool would (through `warehouse/ads/...`) and check it is
/// complete and consistent. Returns the release id.
async fn check_release(wh: &Path) -> String {
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("current/_release.json")).unwrap()).unwrap();
    let ds = marker["ds"].as_str().unwrap().to_string();
    let run_id = marker["run_id"].as_str().unwrap().to_string();
    let link = std::fs::read_link(wh.join("current")).unwrap();
    assert_eq!(link, Path::new("_releases").join(&run_id));
    let ctx = SessionContext::new();
    for layer_table in [
        "dwd/dwd_customer",
        "ads/ads_rfm_score",
        "ads/ads_customer_profile",
        "ads/ads_churn_warning",
        "ads/ads_nps_csat_monthly",
        "ads/ads_followup_compliance",
        "ads/ads_followup_reminder",
        "ads/ads_customer_health_monthly",
    ] {
        let name = layer_table.split('/').nth(1).unwrap();
        let dir = wh.join(layer_table);
        let hive = std::fs::read_dir(&dir)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("ds="));
        let mut options = ParquetReadOptions::default();
        if hive {
            options = options.table_partition_cols(vec![(
                "ds".into(),
                datafusion::arrow::datatypes::DataType::Date32,
            )]);
        }
        ctx.register_parquet(name, &format!("{}/", dir.display()), options)
            .await
            .unwrap();
    }
    let one = |sql: String| {
        let ctx = ctx.clone();
        async move {
            let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            util::pretty(&b)
        }
    };
    // Every customer has exactly one RFM row and one profile for the release's ds, and the two
    // tables agree on every customer's value tier: they come from the same run.
    let counts = one(format!(
        "SELECT (SELECT COUNT(*) FROM dwd_customer) AS customers,
                (SELECT COUNT(*) FROM ads_rfm_score WHERE ds = DATE '{ds}') AS rfm,
                (SELECT COUNT(*) FROM ads_customer_profile WHERE ds = DATE '{ds}') AS profiles,
                (SELECT COUNT(*) FROM ads_rfm_score r JOIN ads_customer_profile p
                   ON p.customer_id = r.customer_id AND p.ds = r.ds
                 WHERE r.ds = DATE '{ds}' AND r.value_tier = p.value_tier) AS agreeing"
    ))
    .await;
    let line = counts.lines().nth(3).unwrap().to_string();
    let cells: Vec<&str> = line
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert!(
        cells.iter().all(|c| *c == cells[0]) && cells[0] != "0",
        "release {run_id} for {ds} is inconsistent:\n{counts}"
    );
    let tables = one("SELECT (SELECT COUNT(*) FROM ads_nps_csat_monthly) > 0 AND (SELECT COUNT(*) FROM ads_customer_health_monthly) > 0 AS ok".into()).await;
    assert!(tables.contains("true"), "{tables}");
    run_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_moments_never_breaks_the_release() {
    let p = generated(150, 40, 5);
    let wh = p.path().join("warehouse");
    let bin = env!("CARGO_BIN_EXE_strata");
    assert_eq!(
        p.strata(&["run", "pipelines/crm.yaml", "--ds", "2026-11-20", "-q"])
            .code,
        0
    );
    // Measure one run to spread the kills over its whole length.
    let t = Instant::now();
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", "2026-11-21", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_ms = t.elapsed().as_millis().max(50) as u64;
    let mut seed: u64 = 0x5eed;
    let mut killed_mid_run = 0;
    for i in 0..60 {
        if killed_mid_run >= 22 {
            break;
        }
        check_release(&wh).await;
        let ds = if i % 2 == 0 {
            "2026-11-20"
        } else {
            "2026-11-21"
        };
        let mut child = Command::new(bin)
            // --force: with nothing changed a run would skip every stage, leaving nothing to kill.
            .args(["run", "pipelines/crm.yaml", "--ds", ds, "--force", "-q"])
            .current_dir(p.path())
            .env("STRATA_MEMORY_LIMIT", "1GB")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = (seed >> 33) % run_ms;
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_mid_run += 1;
        }
        // The reader sees a complete, consistent release: the previous one or, if the run got
        // through its final step, the new one.
        check_release(&wh).await;
        // Every other time, the next run takes over the dead run's lock, removes its debris and
        // succeeds (the other times the next kill lands on top of the debris first).
        if i % 2 == 1 {
            let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", ds, "--force", "-q"]);
            assert_eq!(
                out.code, 0,
                "run after kill {i} (delay {delay} ms): {}",
                out.stderr
            );
            let now = check_release(&wh).await;
            let pointer: serde_json::Value =
                serde_json::from_slice(&std::fs::read(wh.join("_meta/current.json")).unwrap())
                    .unwrap();
            assert_eq!(
                pointer["run_id"],
                now.as_str(),
                "after a good run the JSON pointer agrees"
            );
            let leftovers = std::fs::read_dir(wh.join("_staging"))
                .map(|d| d.count())
                .unwrap_or(0);
            assert_eq!(leftovers, 0, "staging is cleaned after kill {i}");
        }
    }
    assert!(
        killed_mid_run >= 20,
        "only {killed_mid_run} kills landed mid-run"
    );
    let releases = std::fs::read_dir(wh.join("_releases")).unwrap().count();
    assert!(releases <= 4, "{releases} release trees kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_backfill_keeps_the_release_and_the_backfill_resumes() {
    let p = generated(120, 30, 9);
    let wh = p.path().join("warehouse");
    let bin = env!("CARGO_BIN_EXE_strata");
    let range = [
        "run",
        "pipelines/crm.yaml",
        "--from",
        "2026-11-18",
        "--to",
        "2026-11-21",
        "-q",
    ];
    // Measure one date to spread the kills over the first dates of the backfill.
    let t = Instant::now();
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", "2026-11-17", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let date_ms = t.elapsed().as_millis().max(50) as u64;
    let mut seed: u64 = 0xbacf111;
    let mut killed = 0;
    // Up to five kills mid-backfill. A kill that came after the backfill had finished (the
    // one date measured above may have run slower than these, on a busy machine) halves the
    // span the next one is drawn from.
    let mut span_ms = 2 * date_ms;
    for _ in 0..12 {
        if killed == 5 {
            break;
        }
        let mut child = Command::new(bin)
            .args(range)
            .current_dir(p.path())
            .env("STRATA_MEMORY_LIMIT", "1GB")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis((seed >> 33) % span_ms));
        let _ = child.kill();
        if child.wait().unwrap().code().is_none() {
            killed += 1;
        } else {
            span_ms = (span_ms / 2).max(10);
        }
        // Whatever date it was on, readers see one complete release.
        check_release(&wh).await;
    }
    assert!(killed >= 3, "only {killed} kills landed mid-backfill");
    // The same command finishes the backfill; every date has its partitions.
    let out = p.strata(&range);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let now = check_release(&wh).await;
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("current/_release.json")).unwrap()).unwrap();
    assert_eq!(marker["ds"], "2026-11-21", "release {now}");
    for ds in ["2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21"] {
        assert!(
            wh.join(format!("ads/ads_rfm_score/ds={ds}")).is_dir(),
            "partition {ds} after the resumed backfill"
        );
    }
    // Once finished, the same command does no stage work.
    let out = p.strata(&[
        "run",
        "pipelines/crm.yaml",
        "--from",
        "2026-11-18",
        "--to",
        "2026-11-21",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("0 stage(s) built"), "{}", out.stdout);
    let leftovers = std::fs::read_dir(wh.join("_staging"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "staging is cleaned by the resumed backfill");
}

/// `strata run ... 2>&1 | head -1`: the reader of stderr goes away after the first line. The
/// run must still finish, publish and release its lock (it panicked in `eprintln!` and left
/// the lock for the next run to take over).
#[test]
fn a_closed_stderr_does_not_abandon_the_run() {
    let p = generated(150, 40, 5);
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["run", "pipelines/crm.yaml", "--ds", "2026-11-21"])
        .current_dir(p.path())
        .env("STRATA_MEMORY_LIMIT", "1GB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before the run writes its first stage line.
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "the run did not finish cleanly");
    let out = p.strata(&["run", "pipelines/crm.yaml", "--ds", "2026-11-21"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("stale run lock"), "{}", out.stderr);
    assert!(out.stdout.contains("unchanged"), "{}", out.stdout);
}
