//! Resolve run settings once, at the edge: command-line values, environment and the pipeline
//! file merge into one [`RunSettings`]. Precedence, highest first: command line, environment
//! (`STRATA_WAREHOUSE`, `STRATA_MEMORY_LIMIT`, `STRATA_MEMORY_CEILING`, `STRATA_ENGINE`,
//! `STRATA_SCHEDULER`), pipeline file, machine
//! defaults. The core never sees clap types.

use chrono::{NaiveDate, Utc};

use crate::engine::{EngineSettings, Executor, Params};
use crate::error::{Result, StrataError};
use crate::model::types::{VarValue, parse_bytes, parse_date};
use crate::model::{EngineKind, Pipeline, SchedulerUrl};

/// What the command line may override, as plain values.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub ds: Option<String>,
    /// `name=value` pairs.
    pub vars: Vec<String>,
    pub memory_limit: Option<String>,
    pub memory_ceiling: Option<String>,
    pub warehouse: Option<String>,
    pub spill_dir: Option<std::path::PathBuf>,
    /// `--engine`: `embedded` or `ballista`.
    pub engine: Option<String>,
    /// `--scheduler`: `df://host:port`.
    pub scheduler: Option<String>,
}

/// Everything a run needs beyond the pipeline model.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub params: Params,
    pub engine: EngineSettings,
    /// Warehouse root as written (resolved by `storage::Warehouse::open`).
    pub warehouse: String,
}

impl RunSettings {
    /// Whether this run's engine memory limit was asked for (`--memory-limit`,
    /// `STRATA_MEMORY_LIMIT` or the pipeline's `engine.memory_limit`) rather than the machine
    /// default, with the embedded engine (a Ballista cluster's executors have their own).
    pub fn memory_limit_explicit(&self, pipeline: &Pipeline, o: &Overrides) -> bool {
        self.engine.executor == Executor::Embedded
            && (o.memory_limit.is_some()
                || pipeline.engine.memory_limit.is_some()
                || std::env::var_os("STRATA_MEMORY_LIMIT").is_some())
    }

    pub fn resolve(pipeline: &Pipeline, o: &Overrides) -> Result<RunSettings> {
        let ds = match &o.ds {
            Some(text) => parse_date(text).map_err(|reason| StrataError::InvalidArgument {
                argument: "--ds".into(),
                value: text.clone(),
                reason,
            })?,
            None => yesterday_in(pipeline.timezone),
        };
        let mut vars: Vec<(String, VarValue)> = pipeline
            .vars
            .iter()
            .map(|v| (v.name.clone(), v.default.clone()))
            .collect();
        for pair in &o.vars {
            let invalid = |reason: String| StrataError::InvalidArgument {
                argument: "--var".into(),
                value: pair.clone(),
                reason,
            };
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| invalid("expected name=value".into()))?;
            let slot = vars.iter_mut().find(|(n, _)| n == name).ok_or_else(|| {
                let known: Vec<&str> = pipeline.vars.iter().map(|v| v.name.as_str()).collect();
                invalid(match crate::diag::suggest(name, known.iter().copied()) {
                    Some(s) => format!("no variable `{name}` in the pipeline; did you mean `{s}`?"),
                    None => format!("no variable `{name}` in the pipeline"),
                })
            })?;
            slot.1 = slot.1.parse_like(value).map_err(|r| {
                invalid(format!(
                    "`{name}` is {} variable: {r}",
                    crate::diag::with_article(slot.1.type_name())
                ))
            })?;
        }
        let mut engine = EngineSettings::machine_defaults();
        let cfg = &pipeline.engine;
        engine.executor = executor(pipeline, o)?;
        if let Some(limit) = cfg.memory_limit {
            engine.memory_limit = limit;
        }
        if let Some((text, argument)) =
            flag_or_variable(&o.memory_limit, "--memory-limit", "STRATA_MEMORY_LIMIT")
        {
            engine.memory_limit =
                parse_bytes(&text).map_err(|reason| StrataError::InvalidArgument {
                    argument: argument.into(),
                    value: text.clone(),
                    reason,
                })?;
        }
        if let Some((text, argument)) = flag_or_variable(
            &o.memory_ceiling,
            "--memory-ceiling",
            "STRATA_MEMORY_CEILING",
        ) {
            let invalid = |reason: String| StrataError::InvalidArgument {
                argument: argument.into(),
                value: text.clone(),
                reason,
            };
            let ceiling = parse_bytes(&text).map_err(invalid)?;
            if ceiling <= engine.memory_limit {
                return Err(invalid(format!(
                    "must be above the memory limit ({} bytes)",
                    engine.memory_limit
                )));
            }
            engine.memory_ceiling = Some(ceiling);
        }
        if let Some(n) = cfg.target_partitions {
            engine.target_partitions = n;
        }
        // With one partition, Ballista 55 cuts a window stage between its sort and the window
        // ("Expects PARTITION BY expression to be ordered"): refused when written, raised to 2
        // when it is the machine's default (one core).
        if matches!(engine.executor, Executor::Ballista { .. }) && engine.target_partitions < 2 {
            if cfg.target_partitions.is_some() {
                return Err(StrataError::InvalidArgument {
                    argument: "engine.target_partitions".into(),
                    value: engine.target_partitions.to_string(),
                    reason: "the Ballista engine needs at least 2 (with 1, Ballista 55 plans \
                             window stages it cannot run)"
                        .into(),
                });
            }
            engine.target_partitions = 2;
        }
        if let Some(c) = &cfg.compression {
            engine.compression = c.clone();
        }
        engine.spill_dir = o
            .spill_dir
            .clone()
            .or_else(|| cfg.spill_dir.as_ref().map(|d| pipeline.project_dir.join(d)));
        let warehouse = o
            .warehouse
            .clone()
            .or_else(|| std::env::var("STRATA_WAREHOUSE").ok())
            .unwrap_or_else(|| pipeline.warehouse.root.clone());
        Ok(RunSettings {
            params: Params { ds, vars },
            engine,
            warehouse,
        })
    }
}

/// The engine that runs the stages: `--engine` over `STRATA_ENGINE` over `engine.kind`, and
/// for Ballista the scheduler from `--scheduler` over `STRATA_SCHEDULER` over
/// `engine.scheduler`. Refused: an unknown kind or a malformed URL (naming the flag or the
/// variable), Ballista without a scheduler, and `--scheduler` with the embedded engine (a
/// `STRATA_SCHEDULER` set for every command is ignored there).
fn executor(pipeline: &Pipeline, o: &Overrides) -> Result<Executor> {
    let invalid = |argument: &str, value: &str, reason: String| StrataError::InvalidArgument {
        argument: argument.into(),
        value: value.into(),
        reason,
    };
    let (kind, origin) = match flag_or_variable(&o.engine, "--engine", "STRATA_ENGINE") {
        Some((text, origin)) => (
            EngineKind::parse(&text).map_err(|reason| invalid(origin, &text, reason))?,
            origin,
        ),
        None => (pipeline.engine.kind.unwrap_or_default(), "engine.kind"),
    };
    if kind == EngineKind::Embedded {
        return match &o.scheduler {
            Some(text) => Err(invalid(
                "--scheduler",
                text,
                "a scheduler is only used with `--engine ballista`".into(),
            )),
            None => Ok(Executor::Embedded),
        };
    }
    let scheduler = match flag_or_variable(&o.scheduler, "--scheduler", "STRATA_SCHEDULER") {
        Some((text, origin)) => {
            Some(SchedulerUrl::parse(&text).map_err(|reason| invalid(origin, &text, reason))?)
        }
        None => pipeline.engine.scheduler.clone(),
    };
    match (kind, scheduler) {
        (EngineKind::Embedded, _) => Ok(Executor::Embedded),
        (EngineKind::Ballista, Some(scheduler)) => Ok(Executor::Ballista {
            scheduler,
            executor_wait_seconds: pipeline
                .engine
                .executor_wait_seconds
                .unwrap_or(crate::engine::DEFAULT_EXECUTOR_WAIT_SECONDS),
        }),
        (EngineKind::Ballista, None) => Err(invalid(
            origin,
            "ballista",
            "the Ballista engine needs its scheduler: `--scheduler df://host:50050`, \
             STRATA_SCHEDULER, or `scheduler:` under `engine:` in the pipeline file"
                .into(),
        )),
    }
}

/// A setting's text from its flag, else from its environment variable, with the name of the one
/// it came from (for the message when the value is refused).
fn flag_or_variable(
    flag: &Option<String>,
    name: &'static str,
    var: &'static str,
) -> Option<(String, &'static str)> {
    flag.clone()
        .map(|v| (v, name))
        .or_else(|| std::env::var(var).ok().map(|v| (v, var)))
}

/// Yesterday's date in the business time zone: the default `ds` of a nightly run.
pub fn yesterday_in(tz: chrono_tz::Tz) -> NaiveDate {
    let today = Utc::now().with_timezone(&tz).date_naive();
    today.pred_opt().unwrap_or(today)
}
