//! Crash safety: SIGKILL the binary at many random moments of a run. After every kill an
//! independent reader sees the previous release complete and consistent, and the next run
//! succeeds and cleans up.

mod util;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use util::mini::mini_project;
use util::{pretty, query_dir};

/// Expected ADS total for each ds, by hand: 21st: O1 100 + O4 70; 22nd: plus O5 999.
fn expected_total(ds: &str) -> &'static str {
    match ds {
        "2026-11-21" => "170.0",
        "2026-11-22" => "1169.0",
        other => panic!("unexpected ds {other}"),
    }
}

/// Read the current release as a report tool would, and check it is complete and consistent.
async fn check_release(wh: &Path) -> String {
    // Readers follow the `current` symlink; the release it names must be complete.
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("current/_release.json")).unwrap()).unwrap();
    let ds = marker["ds"].as_str().unwrap().to_string();
    let run_id = marker["run_id"].as_str().unwrap();
    let link = std::fs::read_link(wh.join("current")).unwrap();
    assert_eq!(link, Path::new("_releases").join(run_id));
    let ads = pretty(
        &query_dir(
            &wh.join("ads/ads_city_sales"),
            "SELECT SUM(paid_amount) AS total, SUM(customers) AS c FROM t",
        )
        .await,
    );
    let want = expected_total(&ds);
    assert!(
        ads.contains(want),
        "ads for {ds} should total {want}:\n{ads}"
    );
    let dws = pretty(
        &query_dir(
            &wh.join("dws/dws_customer_sales"),
            &format!(
                "SELECT SUM(paid_amount) AS total, COUNT(*) AS c FROM t WHERE ds = DATE '{ds}'"
            ),
        )
        .await,
    );
    assert!(dws.contains(want), "dws agrees with ads for {ds}:\n{dws}");
    assert!(ads.contains("| 2 "), "two customers in ads:\n{ads}");
    run_id.to_string()
}

#[tokio::test]
async fn sigkill_at_random_moments_never_breaks_the_release() {
    let p = mini_project();
    let wh = p.path().join("warehouse");
    let bin = env!("CARGO_BIN_EXE_strata");
    assert_eq!(p.strata(&["run", "--ds", "2026-11-21", "-q"]).code, 0);
    // Measure one run to spread the kills over its whole length.
    let t = Instant::now();
    assert_eq!(p.strata(&["run", "--ds", "2026-11-22", "-q"]).code, 0);
    let run_ms = t.elapsed().as_millis().max(50) as u64;
    let mut seed: u64 = 0x5eed;
    let mut killed_mid_run = 0;
    for i in 0..80 {
        if killed_mid_run >= 24 {
            break;
        }
        let before = check_release(&wh).await;
        let ds = if i % 2 == 0 {
            "2026-11-21"
        } else {
            "2026-11-22"
        };
        let mut child = Command::new(bin)
            .args(["run", "--ds", ds, "-q"])
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
        // to its final step, the new one.
        let after = check_release(&wh).await;
        if status.code().is_none() && after != before {
            assert!(std::fs::read_link(wh.join("current")).is_ok());
        }
        // The next run takes over the dead run's lock, removes its debris and succeeds.
        let out = p.strata(&["run", "--ds", ds, "-q"]);
        assert_eq!(
            out.code, 0,
            "run after kill {i} (delay {delay} ms): {}",
            out.stderr
        );
        let now = check_release(&wh).await;
        let pointer: serde_json::Value =
            serde_json::from_slice(&std::fs::read(wh.join("_meta/current.json")).unwrap()).unwrap();
        assert_eq!(
            pointer["run_id"],
            now.as_str(),
            "after a good run the JSON pointer agrees"
        );
        let staging = wh.join("_staging");
        let leftovers = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
        assert_eq!(leftovers, 0, "staging is cleaned after kill {i}");
    }
    assert!(
        killed_mid_run >= 20,
        "only {killed_mid_run} kills landed mid-run"
    );
    // Old releases are pruned to keep_releases (3) plus none left incomplete.
    let releases = std::fs::read_dir(wh.join("_releases")).unwrap().count();
    assert!(releases <= 3, "{releases} releases kept");
}
