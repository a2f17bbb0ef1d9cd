//! A real S3-compatible server for tests: moto in server mode (from the test Python environment
//! that `scripts/pyenv.sh` installs) on a free loopback port, with one bucket, and
//! `tests/s3_warehouse.py`, an independent reader (boto3 + pyarrow) of what strata published.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{python, repo_root};

/// The bucket every test warehouse lives in.
pub const BUCKET: &str = "strata-test";

/// A free loopback port (bound and released; good enough for a test's own processes).
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on loopback `port`.
pub fn wait_for_port(port: u16, what: &str) {
    let started = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A moto S3 server, stopped when dropped.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    python: String,
}

impl S3Server {
    pub fn start() -> Self {
        let python = python();
        let moto = Path::new(&python).with_file_name("moto_server");
        let port = free_port();
        let child = Command::new(&moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", moto.display()));
        let server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            python,
        };
        wait_for_port(port, "moto");
        server.helper(&["bucket", &server.endpoint, BUCKET]);
        server
    }

    /// The AWS variables a client of this server needs.
    pub fn aws_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
        ]
    }

    /// The AWS variables and `STRATA_WAREHOUSE` for a warehouse at `s3://BUCKET/prefix`.
    pub fn env(&self, prefix: &str) -> Vec<(&'static str, String)> {
        let mut env = self.aws_env();
        env.push(("STRATA_WAREHOUSE", format!("s3://{BUCKET}/{prefix}")));
        env
    }

    /// Runs `tests/s3_warehouse.py` with `args`; its stdout, or a panic with its stderr.
    pub fn helper(&self, args: &[&str]) -> String {
        let out = Command::new(&self.python)
            .arg(repo_root().join("tests/s3_warehouse.py"))
            .args(args)
            .envs(self.aws_env())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "s3_warehouse.py {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// `_meta/current.json` of the warehouse at `prefix` as JSON (`null` before the first
    /// release).
    pub fn current(&self, prefix: &str) -> serde_json::Value {
        serde_json::from_str(&self.helper(&["current", &self.endpoint, BUCKET, prefix])).unwrap()
    }

    /// Compares every table of the current release at `prefix` with the local warehouse's.
    pub fn compare(&self, local: &Path, prefix: &str) -> String {
        self.helper(&[
            "compare",
            local.to_str().unwrap(),
            &self.endpoint,
            BUCKET,
            prefix,
        ])
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The number of stages (one published table each) of the bundled pipeline.
pub fn bundled_stage_count() -> usize {
    let pipeline = std::fs::read_to_string(repo_root().join("pipelines/crm.yaml")).unwrap();
    pipeline
        .split_once("\nstages:\n")
        .unwrap()
        .1
        .lines()
        .filter(|l| l.trim_start().starts_with("- name:") && l.starts_with("  - "))
        .count()
}

/// What a finished child printed, with its exit code.
pub fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
