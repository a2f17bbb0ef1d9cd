//! The warehouse on S3-compatible object storage: a real S3 server (moto in server mode, from the
//! test Python environment that `scripts/pyenv.sh` installs) on loopback. The bundled pipeline
//! on the committed sample publishes on S3 exactly the tables it publishes on a local disk, as
//! an independent reader (boto3 + pyarrow, `tests/s3_warehouse.py`) sees them; the run lock is a
//! conditional put there too; a run stopped with Ctrl-C or killed with SIGKILL leaves the
//! current release untouched, and the next run takes over the dead run's lock and publishes.
//! The prefix holds a space and Chinese characters.

mod util;

use std::process::{Child, Command, Stdio};
use std::time::Instant;

use util::Project;
use util::crm_fixture::bundled_copy;
use util::s3::{BUCKET, S3Server, bundled_stage_count, finish};

const DS: &str = "2026-11-21";
/// A prefix with a space and Chinese characters: one object path for strata and the engine.
const PREFIX: &str = "nightly run/数据仓库";

/// `strata run` in `p` against the S3 warehouse, not waited for.
fn spawn_s3_run(p: &Project, s3: &S3Server, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["run", "--ds", DS, "-q"])
        .args(extra)
        .current_dir(p.path())
        .env("STRATA_MEMORY_LIMIT", "1GB")
        .env_remove("STRATA_ENGINE")
        .env_remove("STRATA_SCHEDULER")
        .envs(s3.env(PREFIX))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_bundled_pipeline_publishes_on_s3_what_it_publishes_on_disk() {
    let s3 = S3Server::start();
    let local = bundled_copy();
    let remote = bundled_copy();
    assert!(s3.current(PREFIX).is_null());

    // A bucket that does not exist is an error naming the warehouse, not an empty warehouse.
    let missing = "s3://no-such-bucket/crm";
    for command in ["status", "ls", "runs"] {
        let out = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args([command, "--warehouse", missing])
            .current_dir(remote.path())
            .envs(s3.env(PREFIX))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains(&format!(
                "error: storage operation `list the warehouse` failed on `{missing}`"
            )) && err.contains("NoSuchBucket")
                && err.contains("hint: check that the bucket exists"),
            "{command}: {err}"
        );
    }

    // The same run on both warehouses, side by side.
    let on_s3 = spawn_s3_run(&remote, &s3, &[]);
    let on_disk = local.strata(&["run", "--ds", DS, "-q"]);
    assert_eq!(on_disk.code, 0, "{}", on_disk.stderr);
    let (code, out) = finish(on_s3);
    assert_eq!(code, 0, "{out}");
    let first = s3.current(PREFIX);
    assert_eq!(first["ds"], DS, "{first}");
    // `strata ls` points report tools at the current release's prefix (no links on S3).
    let ls = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("ls")
        .current_dir(remote.path())
        .envs(s3.env(PREFIX))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&ls.stdout);
    let expected = format!(
        "s3://{BUCKET}/{PREFIX}/_releases/{}/ads/ads_rfm_score/",
        first["run_id"].as_str().unwrap()
    );
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("ads_rfm_score ") && l.ends_with(&expected)),
        "{listing}"
    );
    let equal = s3.compare(&local.path().join("warehouse"), PREFIX);
    // Every stage of the bundled pipeline publishes one table.
    let stages = bundled_stage_count();
    assert_eq!(equal, format!("{stages} tables equal"), "{equal}");

    // The lock is a conditional put: a lock held by a run on another host refuses the run.
    let holder = r#"{"run_id":"20261130T000000.000Z-0a0a0a","host":"etl-node-7","pid":4242,"started_at":"2026-11-30T00:00:00+00:00"}"#;
    let lock_key = format!("{PREFIX}/_meta/lock.json");
    s3.helper(&["put", &s3.endpoint, BUCKET, &lock_key, holder]);
    let (code, out) = finish(spawn_s3_run(&remote, &s3, &["--force"]));
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("etl-node-7") && out.contains("4242"), "{out}");
    assert_eq!(s3.current(PREFIX), first);

    // A forced rebuild, timed: the interrupts below come at fractions of its length, so they
    // fall while stages run, checks run or outputs move on a fast machine as on a slow one (at
    // fixed moments, a fast debug build had finished before the last one).
    let started = Instant::now();
    let (code, out) = finish(spawn_s3_run(&remote, &s3, &["--force", "--break-lock"]));
    let length = started.elapsed();
    assert_eq!(code, 0, "{out}");
    let first = s3.current(PREFIX);

    // Ctrl-C at several moments: the run stops with "interrupted" (exit 2) and publishes
    // nothing.
    for share in [0.25, 0.5, 0.7] {
        let after = length.mul_f64(share);
        let child = spawn_s3_run(&remote, &s3, &["--force", "--break-lock"]);
        std::thread::sleep(after);
        let signalled = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(signalled.success());
        let (code, out) = finish(child);
        assert_eq!(code, 2, "SIGINT after {after:?} of {length:?}: {out}");
        assert!(out.contains("interrupted"), "{out}");
        assert_eq!(s3.current(PREFIX), first, "SIGINT after {after:?}");
    }

    // SIGKILL a forced rebuild at several moments: the current release stays the first one,
    // whole; the dead run's lock (this host, no such process) is taken over by the next run.
    for (i, share) in [0.12, 0.45].into_iter().enumerate() {
        let after = length.mul_f64(share);
        let extra: &[&str] = if i == 0 {
            &["--force", "--break-lock"]
        } else {
            &["--force"]
        };
        let mut child = spawn_s3_run(&remote, &s3, extra);
        std::thread::sleep(after);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(s3.current(PREFIX), first, "killed after {after:?}");
    }
    assert_eq!(
        s3.compare(&local.path().join("warehouse"), PREFIX),
        format!("{stages} tables equal")
    );
    let (code, out) = finish(spawn_s3_run(&remote, &s3, &["--force"]));
    assert_eq!(code, 0, "{out}");
    let second = s3.current(PREFIX);
    assert_ne!(second["run_id"], first["run_id"]);
    assert_eq!(
        s3.compare(&local.path().join("warehouse"), PREFIX),
        format!("{stages} tables equal")
    );
}
