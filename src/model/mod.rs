//! The validated pipeline model.
//!
//! [`loader`] builds a [`Pipeline`] from a YAML file (through [`yaml`]) and the stage SQL files it
//! names, collecting every problem with its location. Once built, a `Pipeline` is internally
//! consistent as far as the file alone can tell: names are unique, values have their declared
//! types, SQL files exist. Cross-stage checks (tables, layers, cycles, SQL planning) are the
//! planner's.

pub mod checks;
pub mod confine;
mod experiment_spec;
pub mod identity;
pub mod loader;
pub mod model_spec;
mod reader;
mod sections;
mod source_entry;
pub mod types;
pub mod unit_tests;
pub mod yaml;

use std::fmt;
use std::path::PathBuf;

use chrono::NaiveDate;
use datafusion::arrow::datatypes::DataType;

use crate::diag::Location;
pub use identity::IdentityConfig;
pub use loader::{Loaded, load, load_partial, parse};
pub use model_spec::{Algorithm, ModelSpec};

/// Warehouse layers, in the order in which data flows. A stage reads only its own layer or lower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    Ods,
    Dwd,
    Dws,
    Ads,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Ods, Layer::Dwd, Layer::Dws, Layer::Ads];

    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Ods => "ods",
            Layer::Dwd => "dwd",
            Layer::Dws => "dws",
            Layer::Ads => "ads",
        }
    }

    pub fn parse(text: &str) -> Option<Layer> {
        Layer::ALL.into_iter().find(|l| l.as_str() == text)
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a stage's output is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Materialization {
    /// The whole table is replaced by each run.
    Table,
    /// Hive-partitioned by `ds`; a run for `ds` replaces exactly that partition.
    Partitioned,
}

impl Materialization {
    pub fn as_str(self) -> &'static str {
        match self {
            Materialization::Table => "table",
            Materialization::Partitioned => "partitioned",
        }
    }
}

/// A whole pipeline file, validated.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub name: String,
    pub description: Option<String>,
    /// The pipeline file as given.
    pub file: PathBuf,
    /// The directory relative paths are resolved against (see [`loader::project_dir`]).
    pub project_dir: PathBuf,
    pub warehouse: WarehouseConfig,
    /// The directory (or URL prefix) every source location must stay under.
    pub sources_root: String,
    pub timezone: chrono_tz::Tz,
    pub engine: EngineConfig,
    pub sources: Vec<Source>,
    pub vars: Vec<VarDecl>,
    pub stages: Vec<Stage>,
    pub intents: IntentDictionary,
    pub pii: PiiConfig,
    /// Identity resolution settings (the `identity` section).
    pub identity: IdentityConfig,
}

impl Pipeline {
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    pub fn source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseConfig {
    /// Root URL or path as written (resolved by `storage`).
    pub root: String,
    /// How many releases are kept, the current one included (the others for rollback).
    pub keep_releases: usize,
}

/// Which engine executes a run's stages (`engine.kind`): DataFusion inside the `strata`
/// process, or a Apache DataFusion Ballista cluster (the same DataFusion, distributed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    #[default]
    Embedded,
    Ballista,
}

impl EngineKind {
    /// `embedded` or `ballista`; anything else is refused with the accepted names.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        match text {
            "embedded" => Ok(EngineKind::Embedded),
            "ballista" => Ok(EngineKind::Ballista),
            _ => Err("expected `embedded` or `ballista`".into()),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Embedded => "embedded",
            EngineKind::Ballista => "ballista",
        }
    }
}

/// A Ballista scheduler's address in Ballista's own URL form, `df://host:port` (its scheduler
/// listens on 50050 by default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerUrl {
    pub host: String,
    pub port: u16,
}

impl SchedulerUrl {
    /// Parses `df://host:port`; refuses another scheme, a missing host or port, a path, a user
    /// or a query, saying which.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let rest = text
            .strip_prefix("df://")
            .ok_or("expected df://host:port (Ballista's scheduler URL)")?;
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or("no port: expected df://host:port, such as df://localhost:50050")?;
        if host.is_empty() || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(format!("`{host}` is not a host name or address"));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`{port}` is not a port (1 to 65535)"))?;
        Ok(SchedulerUrl {
            host: host.to_string(),
            port,
        })
    }
}

impl std::fmt::Display for SchedulerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "df://{}:{}", self.host, self.port)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineConfig {
    /// `engine.kind`, when written.
    pub kind: Option<EngineKind>,
    /// `engine.scheduler`, for `kind: ballista`.
    pub scheduler: Option<SchedulerUrl>,
    /// `engine.executor_wait_seconds`, for `kind: ballista`: how long a run waits for the
    /// scheduler to have an executor (and to answer) before it fails.
    pub executor_wait_seconds: Option<u64>,
    pub memory_limit: Option<u64>,
    pub target_partitions: Option<usize>,
    pub spill_dir: Option<PathBuf>,
    /// Parquet compression as DataFusion spells it, such as `zstd(1)` or `snappy`.
    pub compression: Option<String>,
}

/// File format of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceFormat {
    Parquet,
    /// CSV with a header row; for small seed tables. Needs declared `columns`.
    Csv,
}

/// An ODS table read from Parquet (or, for seeds, CSV) files.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub format: SourceFormat,
    /// Location as written: relative to the project directory, or a URL.
    pub location: String,
    pub location_at: Location,
    /// Hive partition columns with their types, in directory order.
    pub partitions: Vec<(String, DataType)>,
    /// Declared file columns; inferred from the Parquet footers when absent.
    pub columns: Option<Vec<(String, DataType)>>,
    /// Column descriptions (`columns: {name: {type, description}}`), for docs and lineage.
    pub column_docs: Vec<(String, String)>,
    /// An optional source may be empty or have no partition for `ds`.
    pub optional: bool,
    /// Key columns (`key: [order_id]`): a file missing one of them is refused before a run,
    /// where any other declared column missing from a file reads as NULL.
    pub key: Vec<String>,
    /// The IANA zone that timestamps without a time zone are written in (`naive_timestamps`).
    /// Without it, a file with a zone-less timestamp column is refused.
    pub naive_timestamps: Option<chrono_tz::Tz>,
    /// The text encoding of a CSV source (`encoding`, default UTF-8).
    pub encoding: &'static encoding_rs::Encoding,
    /// Data checks run at preflight on what the run will read (`checks`, as for stages).
    pub checks: Vec<checks::CheckSpec>,
    pub description: Option<String>,
    pub at: Location,
}

/// A pipeline variable with its type and default.
#[derive(Debug, Clone)]
pub struct VarDecl {
    pub name: String,
    pub default: types::VarValue,
    pub description: Option<String>,
    pub at: Location,
}

/// One stage: a SQL query, or a model over a features query (`kind: model`).
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub layer: Layer,
    /// The SQL file, absolute.
    pub sql_path: PathBuf,
    /// The SQL file as shown in messages (relative to the project directory).
    pub sql_display: PathBuf,
    pub sql: String,
    pub materialization: Materialization,
    pub depends_on: Vec<(String, Location)>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub checks: Vec<checks::CheckSpec>,
    /// A query over `this` (the stage's output) whose first row, as text, is printed in the run
    /// summary, such as a reconciliation line.
    pub summary: Option<String>,
    /// The declared output contract: every column with its type, in order. Validation fails
    /// when the query's output differs.
    pub columns: Option<Vec<(String, DataType)>>,
    /// Column descriptions (`columns: {name: {type, description}}`), for docs and lineage.
    pub column_docs: Vec<(String, String)>,
    /// For a model stage (`kind: model`): its algorithm and settings; `sql` is then the
    /// features query whose rows the model trains on and scores.
    pub model: Option<ModelSpec>,
    pub at: Location,
}

/// The keyword dictionary of the `intent(text)` UDF: labels in order, each with its keywords.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntentDictionary {
    pub labels: Vec<(String, Vec<String>)>,
    pub default_label: String,
}

impl Default for IntentDictionary {
    fn default() -> Self {
        let entry = |label: &str, words: &[&str]| {
            (
                label.to_string(),
                words.iter().map(|w| w.to_string()).collect(),
            )
        };
        Self {
            labels: vec![
                entry("价格", &["多少钱", "报价", "折扣"]),
                entry("技术", &["功能", "API", "集成"]),
                entry("服务", &["支持", "维护", "培训"]),
            ],
            default_label: "其他".to_string(),
        }
    }
}

/// Where the keyed hash of personal data takes its key from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PiiConfig {
    /// Name of the environment variable holding the hash key.
    pub hash_key_env: String,
}

impl Default for PiiConfig {
    fn default() -> Self {
        Self {
            hash_key_env: "STRATA_PII_KEY".to_string(),
        }
    }
}

/// The run date, always a calendar date.
pub type Ds = NaiveDate;
