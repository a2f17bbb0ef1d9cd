//! The bundled pipeline on a Ballista cluster (cargo feature `ballista`): `strata scheduler` and
//! two `strata executor`s as separate processes on loopback, the warehouse on a real S3 server
//! (moto). The cluster's release equals the embedded engine's, table for table, as an
//! independent reader (boto3 + pyarrow) sees them; a stage that fails on an executor fails the
//! run naming the stage and publishes nothing; an executor killed with SIGKILL while stages run
//! either has its tasks run again on the other one or fails the run cleanly, the current
//! release untouched either way, and the next run succeeds.
#![cfg(feature = "ballista")]

mod util;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::Project;
use util::crm_fixture::bundled_copy;
use util::s3::{S3Server, bundled_stage_count, finish, free_port, wait_for_port};

const DS: &str = "2026-11-21";
const PREFIX: &str = "cluster/数据仓库";
/// The personal-data key, in the executors' environment only (and the embedded reference
/// run's): the client of a cluster run does not have it.
const PII_KEY: &str = "k3y-on-every-node";

/// One `strata scheduler` and two `strata executor`s, killed when dropped. Their logs go to
/// files, printed when a test fails.
struct Cluster {
    scheduler: Child,
    executors: Vec<Option<Child>>,
    port: u16,
    logs: tempfile::TempDir,
}

impl Cluster {
    /// A scheduler and `executors` executors, every process with `env` (the AWS variables).
    fn start(env: &[(&'static str, String)], executors: usize) -> Self {
        let logs = tempfile::tempdir().unwrap();
        let port = free_port();
        let scheduler = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["scheduler", "--bind-host", "127.0.0.1", "--external-host"])
            .args(["127.0.0.1", "--bind-port", &port.to_string()])
            .args(["--executor-timeout-seconds", "6"])
            .envs(env.iter().cloned())
            .stdout(log(&logs, "scheduler.log"))
            .stderr(log(&logs, "scheduler.err"))
            .spawn()
            .unwrap();
        wait_for_port(port, "strata scheduler");
        let mut cluster = Cluster {
            scheduler,
            executors: Vec::new(),
            port,
            logs,
        };
        for _ in 0..executors {
            cluster.add_executor(env);
        }
        if executors > 0 {
            // Registration follows the first heartbeat.
            std::thread::sleep(Duration::from_secs(3));
        }
        cluster
    }

    /// Starts one more executor, with the personal-data key in its environment.
    fn add_executor(&mut self, env: &[(&'static str, String)]) {
        let i = self.executors.len();
        let (flight, grpc) = (free_port(), free_port());
        let work = self.logs.path().join(format!("work-{i}"));
        std::fs::create_dir_all(&work).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["executor", "--scheduler-host", "127.0.0.1"])
            .args(["--scheduler-port", &self.port.to_string()])
            .args(["--bind-host", "127.0.0.1", "--external-host", "127.0.0.1"])
            .args(["--bind-port", &flight.to_string()])
            .args(["--bind-grpc-port", &grpc.to_string()])
            .args(["--vcores", "2", "--memory-pool-size", "1GB"])
            .args(["--executor-heartbeat-interval-seconds", "2"])
            .arg("--work-dir")
            .arg(&work)
            .envs(env.iter().cloned())
            .env("STRATA_PII_KEY", PII_KEY)
            .stdout(log(&self.logs, &format!("executor-{i}.log")))
            .stderr(log(&self.logs, &format!("executor-{i}.err")))
            .spawn()
            .unwrap();
        wait_for_port(flight, "strata executor");
        self.executors.push(Some(child));
    }

    fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    fn kill_executor(&mut self, i: usize) {
        if let Some(mut child) = self.executors[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every process log, for a failure message.
    fn logs(&self) -> String {
        let mut out = String::new();
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.logs.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(40).collect();
            out.push_str(&format!("== {}\n", path.display()));
            for line in tail.into_iter().rev() {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}

fn log(dir: &tempfile::TempDir, name: &str) -> File {
    File::create(dir.path().join(name)).unwrap()
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.executors.len() {
            self.kill_executor(i);
        }
        let _ = self.scheduler.kill();
        let _ = self.scheduler.wait();
    }
}

/// The bundled project plus a stage that hashes every customer id with `pii_hash` (the key
/// comes from the environment of whichever process evaluates it).
fn project() -> Project {
    let p = bundled_copy();
    add_stage(
        p.path(),
        "dws_customer_token",
        "SELECT customer_id, pii_hash(customer_id) AS token FROM dwd_customer",
    );
    p
}

fn add_stage(dir: &Path, name: &str, sql: &str) {
    add_checked_stage(dir, name, sql, None);
}

/// A stage with one `sql` check, `check`, when given.
fn add_checked_stage(dir: &Path, name: &str, sql: &str, check: Option<&str>) {
    std::fs::write(dir.join(format!("sql/dws/{name}.sql")), format!("{sql}\n")).unwrap();
    let pipeline = dir.join("pipelines/crm.yaml");
    let mut text = std::fs::read_to_string(&pipeline).unwrap();
    text.push_str(&format!(
        "  - name: {name}\n    layer: dws\n    sql: sql/dws/{name}.sql\n"
    ));
    if let Some(check) = check {
        text.push_str(&format!(
            "    checks:\n      - sql: \"{check}\"\n        name: bounded\n"
        ));
    }
    std::fs::write(pipeline, text).unwrap();
}

/// `strata run` of `p` on the cluster, with the warehouse at `s3://strata-test/PREFIX`.
fn spawn_cluster_run(p: &Project, s3: &S3Server, cluster: &Cluster, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["run", "--ds", DS, "-q", "--engine", "ballista"])
        .args(["--scheduler", &cluster.url()])
        .args(extra)
        .current_dir(p.path())
        .env_remove("STRATA_ENGINE")
        .env_remove("STRATA_SCHEDULER")
        .env_remove("STRATA_PII_KEY")
        .envs(s3.env(PREFIX))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_cluster_publishes_what_the_embedded_engine_publishes_and_survives_a_lost_executor() {
    let s3 = S3Server::start();
    // No scheduler at the address: refused before the lock, nothing published.
    let nobody = project();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "run",
            "--ds",
            DS,
            "-q",
            "--engine",
            "ballista",
            "--scheduler",
        ])
        .arg(format!("df://127.0.0.1:{}", free_port()))
        .current_dir(nobody.path())
        .envs(s3.env(PREFIX))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot reach the Ballista scheduler at df://127.0.0.1:")
            && err.contains("hint: start one with `strata scheduler`"),
        "{err}"
    );
    assert!(s3.current(PREFIX).is_null());
    let mut cluster = Cluster::start(&s3.aws_env(), 2);
    let tables = bundled_stage_count() + 1;

    // The reference: the embedded engine, on a local disk.
    let local = project();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["run", "--ds", DS, "-q"])
        .current_dir(local.path())
        .env_remove("STRATA_ENGINE")
        .env_remove("STRATA_WAREHOUSE")
        .env("STRATA_PII_KEY", PII_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same pipeline on the cluster, timed.
    let remote = project();
    let started = Instant::now();
    let (code, out) = finish(spawn_cluster_run(&remote, &s3, &cluster, &[]));
    let length = started.elapsed();
    assert_eq!(code, 0, "{out}\n{}", cluster.logs());
    let first = s3.current(PREFIX);
    assert_eq!(first["ds"], DS, "{first}");
    assert_eq!(
        s3.compare(&local.path().join("warehouse"), PREFIX),
        format!("{tables} tables equal"),
        "{}",
        cluster.logs()
    );

    // A stage that fails on an executor (a cast that no row survives): the run fails naming the
    // stage, which publishes nothing; every other table is published as before (a failed stage
    // keeps its previous data, as with the embedded engine). A check whose query has a scalar
    // subquery cannot be evaluated on the cluster: it is refused with the rewrite, and blocks
    // its stage.
    let failing = project();
    add_stage(
        failing.path(),
        "dws_broken_cast",
        "SELECT CAST(customer_id AS INT) AS n FROM dwd_customer",
    );
    add_checked_stage(
        failing.path(),
        "dws_customer_count",
        "SELECT COUNT(*) AS n FROM dwd_customer",
        Some("SELECT n FROM this WHERE n > (SELECT COUNT(*) FROM dwd_order)"),
    );
    let (code, out) = finish(spawn_cluster_run(&failing, &s3, &cluster, &[]));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("stage `dws_broken_cast`"), "{out}");
    assert!(
        out.contains("dws_customer_count") && out.contains("cannot run on the Ballista engine"),
        "{out}"
    );
    assert_eq!(
        s3.compare(&local.path().join("warehouse"), PREFIX),
        format!("{tables} tables equal")
    );

    // A scalar subquery, which Ballista cannot cut into stages, is refused when the run
    // validates its stages (before the lock, nothing sent), at its place in the stage's SQL
    // (its column's alias), with the rewrite that runs on both engines.
    let refused = project();
    add_stage(
        refused.path(),
        "dws_order_share",
        "SELECT customer_id,\n  (SELECT COUNT(*) AS n FROM dwd_order) AS orders FROM dwd_customer",
    );
    let (code, out) = finish(spawn_cluster_run(&refused, &s3, &cluster, &[]));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("sql/dws/dws_order_share.sql:2:23") && out.contains("CROSS JOIN"),
        "{out}"
    );
    assert_eq!(
        s3.compare(&local.path().join("warehouse"), PREFIX),
        format!("{tables} tables equal")
    );

    // SIGKILL one executor while a forced rebuild runs: Ballista runs its tasks again on the
    // other executor, or the stages it ran fail cleanly and keep their previous data.
    let first = s3.current(PREFIX);
    let child = spawn_cluster_run(&remote, &s3, &cluster, &["--force"]);
    std::thread::sleep(length.mul_f64(0.3));
    cluster.kill_executor(0);
    let (code, out) = finish(child);
    match code {
        0 => assert_ne!(s3.current(PREFIX)["run_id"], first["run_id"]),
        2 => assert!(out.contains("stage `"), "{out}"),
        other => panic!("exit {other}: {out}\n{}", cluster.logs()),
    }
    assert_eq!(
        s3.compare(&local.path().join("warehouse"), PREFIX),
        format!("{tables} tables equal")
    );
    // Which of the two outcomes happened, for the CI log.
    #[allow(clippy::print_stderr)]
    {
        eprintln!("run with an executor killed: exit {code}");
    }

    // The next run, on the executor that is left, succeeds and publishes the same tables.
    let before = s3.current(PREFIX);
    let (code, out) = finish(spawn_cluster_run(&remote, &s3, &cluster, &["--force"]));
    assert_eq!(code, 0, "{out}\n{}", cluster.logs());
    assert_ne!(s3.current(PREFIX)["run_id"], before["run_id"]);
    assert_eq!(
        s3.compare(&local.path().join("warehouse"), PREFIX),
        format!("{tables} tables equal")
    );
}

/// A scheduler without executors: Ballista keeps a job queued until an executor takes it, so a
/// run waits `executor_wait_seconds` for one and then fails before its lock, saying why, with
/// nothing published. An executor that registers while a run waits lets the run go on.
#[test]
fn a_run_waits_for_an_executor_and_gives_up_when_none_registers() {
    let mut cluster = Cluster::start(&[], 0);
    let p = project();
    let pipeline = p.path().join("pipelines/crm.yaml");
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let with_wait = |seconds: u64| {
        let engine = format!("engine:\n  executor_wait_seconds: {seconds}\n");
        let changed = text.replacen("engine:\n", &engine, 1);
        assert_ne!(changed, text);
        std::fs::write(&pipeline, changed).unwrap();
    };
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["run", "--ds", DS, "-q", "--engine", "ballista"])
            .args(["--scheduler", &cluster.url()])
            .current_dir(p.path())
            .env_remove("STRATA_ENGINE")
            .env_remove("STRATA_SCHEDULER")
            .env_remove("STRATA_WAREHOUSE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    with_wait(3);
    let started = Instant::now();
    let (code, out) = finish(run());
    let waited = started.elapsed();
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(
            "could not run anything for 3 s: no executor is registered with the scheduler"
        ) && out.contains("hint: start executors with `strata executor"),
        "{out}"
    );
    assert!(waited < Duration::from_secs(60), "{waited:?}");
    assert!(!p.path().join("warehouse/_meta/current.json").exists());
    assert!(!p.path().join("warehouse/_meta/lock.json").exists());

    // The executor comes while the run waits.
    with_wait(120);
    let child = run();
    std::thread::sleep(Duration::from_secs(4));
    cluster.add_executor(&[]);
    let (code, out) = finish(child);
    assert_eq!(code, 0, "{out}\n{}", cluster.logs());
    assert!(p.path().join("warehouse/_meta/current.json").exists());
}
