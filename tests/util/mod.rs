//! Test helpers: a throwaway project on disk, the real binary, and Parquet fixtures.
#![allow(dead_code)]

pub mod crm_fixture;
pub mod mini;
pub mod ods;
pub mod rules_fixture;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

/// A project directory that is deleted when dropped.
pub struct Project {
    pub dir: tempfile::TempDir,
}

/// What the binary did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Project {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file (creating directories).
    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    /// Move everything in the project into its subdirectory `name`, which becomes the project
    /// directory for [`Project::strata_in`].
    pub fn nest(&self, name: &str) {
        std::fs::create_dir(self.path().join(name)).unwrap();
        for entry in std::fs::read_dir(self.path()).unwrap() {
            let from = entry.unwrap().path();
            if from.file_name().is_some_and(|n| n != name) {
                let to = self.path().join(name).join(from.file_name().unwrap());
                std::fs::rename(&from, to).unwrap();
            }
        }
    }

    /// Write record batches as one Parquet file.
    pub fn write_parquet(&self, rel: &str, batch: &RecordBatch) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let file = std::fs::File::create(p).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }

    /// Run the strata binary in the project directory.
    pub fn strata(&self, args: &[&str]) -> Output {
        self.strata_env(args, &[])
    }

    pub fn strata_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.strata_in("", args, env)
    }

    /// Run the strata binary in the directory `rel` of the project.
    pub fn strata_in(&self, rel: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
        cmd.args(args)
            .current_dir(self.path().join(rel))
            .env_remove("STRATA_WAREHOUSE")
            .env_remove("STRATA_MEMORY_LIMIT")
            .env_remove("STRATA_ENGINE")
            .env_remove("STRATA_SCHEDULER")
            .env("STRATA_MEMORY_LIMIT", "1GB");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run strata");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Read every Parquet file under `dir` (recursively, hive partitions as columns) with an
/// independent DataFusion context and return the rows of `query` over table `t`.
pub async fn query_dir(dir: &Path, query: &str) -> Vec<RecordBatch> {
    let ctx = SessionContext::new();
    // A URL, so that `?`, `#` or `[` in a directory name are not read as a glob or a query.
    let url = url::Url::from_directory_path(dir).unwrap().to_string();
    let hive = std::fs::read_dir(dir)
        .unwrap()
        .any(|e| e.unwrap().file_name().to_string_lossy().starts_with("ds="));
    let mut options = ParquetReadOptions::default();
    if hive {
        options = options.table_partition_cols(vec![(
            "ds".to_string(),
            datafusion::arrow::datatypes::DataType::Date32,
        )]);
    }
    ctx.register_parquet("t", &url, options).await.unwrap();
    ctx.sql(query).await.unwrap().collect().await.unwrap()
}

/// Pretty text of batches, for exact comparisons with hand-written tables.
pub fn pretty(batches: &[RecordBatch]) -> String {
    datafusion::arrow::util::pretty::pretty_format_batches(batches)
        .unwrap()
        .to_string()
}

pub fn batch(schema: SchemaRef, columns: Vec<datafusion::arrow::array::ArrayRef>) -> RecordBatch {
    RecordBatch::try_new(schema, columns).unwrap()
}

pub fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of the test Python (pyarrow, openlineage-python), set up by `scripts/pyenv.sh`.
pub fn python() -> String {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/pyenv.sh"))
        .output()
        .expect("run scripts/pyenv.sh");
    assert!(
        out.status.success(),
        "scripts/pyenv.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
