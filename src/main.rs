//! The `strata` binary: parse arguments, call the library, map the outcome to an exit code
//! (0 success, 1 invalid input or failed checks, 2 error).

use std::process::ExitCode;

use clap::Parser;
use strata::app::{self, run::RunRequest};
use strata::cli::{Cli, Command, Dataset, LogFormat, OutputFormat};
use strata::report::{Format, Printer, progress::Progress};
use strata::settings::Overrides;

mod allocator;

/// mimalloc, or under a memory limit mimalloc and the system's allocator by block size (see
/// `allocator`).
#[global_allocator]
static ALLOCATOR: allocator::Chosen = allocator::Chosen;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(&cli);
    tracing::debug!(allocator = allocator::in_use().name(), "memory allocator");
    // Panics inside the query engine are caught at the stage boundary and reported as errors
    // naming the stage; keep their raw text out of the user's terminal (it is logged at debug).
    std::panic::set_hook(Box::new(|info| tracing::debug!(%info, "panic caught")));
    let printer = Printer {
        format: match cli.format {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
        },
        quiet: cli.quiet,
    };
    if let Err(value) = allocator::check_variable() {
        printer.error(&strata::StrataError::InvalidArgument {
            argument: allocator::VARIABLE.into(),
            value,
            reason: "expected `mimalloc`, `split` or `system`".into(),
        });
        return ExitCode::from(1);
    }
    strata::engine::guard::set_release(allocator::release_free_memory);
    strata::engine::guard::set_on_memory_limit(allocator::restart_for_memory_limit);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&strata::StrataError::Io {
                operation: "start the async runtime",
                path: ".".into(),
                source: e,
            });
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(cli.command, printer)) {
        Ok(code) => code,
        Err(err) => {
            printer.error(&err);
            ExitCode::from(if err.is_invalid_input() { 1 } else { 2 })
        }
    }
}

async fn dispatch(command: Command, printer: Printer) -> strata::Result<ExitCode> {
    let overrides = |v: &strata::cli::RunValues| Overrides {
        ds: v.ds.map(|d| d.to_string()),
        vars: v.vars.clone(),
        warehouse: v.project.warehouse.clone(),
        ..Overrides::default()
    };
    match command {
        Command::Validate(v) => {
            let outcome = app::validate(v.project.pipeline.as_deref(), &overrides(&v)).await?;
            printer.validated(&outcome);
        }
        Command::Plan(p) => {
            let request = RunRequest {
                overrides: overrides(&p.values),
                select: p.select,
                dry_run: true,
                ..RunRequest::default()
            };
            let pipeline = p.values.project.pipeline.as_deref();
            let outcome = app::run::run(pipeline, &request, &app::run::Silent).await?;
            printer.plan(&outcome.plan, &outcome.outputs);
        }
        Command::Run(r) => {
            let mut o = overrides(&r.values);
            o.memory_limit = r.memory_limit;
            o.memory_ceiling = r.memory_ceiling;
            o.spill_dir = r.spill_dir;
            o.engine = r.engine;
            o.scheduler = r.scheduler;
            let request = RunRequest {
                overrides: o,
                select: r.select,
                dry_run: r.dry_run,
                break_lock: r.break_lock,
                force: r.force,
            };
            let many = r.from.is_some() || r.stale;
            let progress =
                Progress::with_dates(printer.quiet || printer.format == Format::Json, many);
            let pipeline = r.values.project.pipeline.as_deref();
            if many {
                let batch = match (r.from, r.to) {
                    (Some(from), Some(to)) => {
                        let dates = app::batch::dates_between(from, to)?;
                        app::batch::run_dates(pipeline, &request, dates, &progress).await?
                    }
                    _ => app::batch::stale(pipeline, &request, &progress).await?,
                };
                drop(progress);
                printer.batch(&batch);
                if batch.failed() {
                    return Ok(ExitCode::from(2));
                }
                if !batch.succeeded() {
                    return Ok(ExitCode::from(1));
                }
                return Ok(ExitCode::SUCCESS);
            }
            let outcome = match &r.retry {
                Some(id) => app::batch::retry(pipeline, &request, id, &progress).await?,
                None => app::run::run(pipeline, &request, &progress).await?,
            };
            drop(progress);
            printer.run(&outcome, &outcome.outputs);
            if outcome.failed() > 0 {
                return Ok(ExitCode::from(2));
            }
            if !outcome.succeeded() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Status(st) => {
            let o = overrides(&st.values);
            let pipeline = st.values.project.pipeline.as_deref();
            printer.status(&app::status::status(pipeline, &o, st.values.ds).await?);
        }
        Command::Runs(r) => {
            let o = Overrides {
                warehouse: r.project.warehouse,
                ..Overrides::default()
            };
            printer.runs(&app::inspect::runs(r.project.pipeline.as_deref(), &o, r.limit).await?);
        }
        Command::Checks(c) => {
            let o = Overrides {
                warehouse: c.warehouse,
                ..Overrides::default()
            };
            let rec =
                app::inspect::run_record(c.pipeline.as_deref(), &o, c.run_id.as_deref()).await?;
            printer.checks(&rec);
        }
        Command::Rollback(r) => {
            let o = Overrides {
                warehouse: r.project.warehouse,
                ..Overrides::default()
            };
            let pointer = app::inspect::rollback(
                r.project.pipeline.as_deref(),
                &o,
                r.to.as_deref(),
                r.break_lock,
            )
            .await?;
            printer.rolled_back(&pointer);
        }
        Command::Ls(p) => {
            let o = Overrides {
                warehouse: p.warehouse,
                ..Overrides::default()
            };
            printer.listing(&app::inspect::ls(p.pipeline.as_deref(), &o).await?);
        }
        Command::Show(s) => {
            let o = Overrides {
                warehouse: s.warehouse,
                ..Overrides::default()
            };
            let result = app::inspect::show(s.pipeline.as_deref(), &o, &s.table, s.limit).await?;
            printer.query(&result);
        }
        Command::Sql(s) => {
            let o = Overrides {
                warehouse: s.warehouse,
                ..Overrides::default()
            };
            printer.query(&app::inspect::sql(s.pipeline.as_deref(), &o, &s.query).await?);
        }
        Command::Init(i) => printer.scaffolded(&app::scaffold::init(&i.dir)?),
        Command::New(strata::cli::NewCommand::Stage(n)) => {
            let layer = match n.layer {
                strata::cli::StageLayer::Dwd => strata::model::Layer::Dwd,
                strata::cli::StageLayer::Dws => strata::model::Layer::Dws,
                strata::cli::StageLayer::Ads => strata::model::Layer::Ads,
            };
            let done = app::scaffold::new_stage(
                n.pipeline.as_deref(),
                &n.name,
                layer,
                n.from.as_deref(),
                n.partitioned,
            )
            .await?;
            printer.scaffolded(&done);
        }
        Command::Test(t) => {
            let outcome =
                app::unit_test::run_tests(t.pipeline.as_deref(), &Overrides::default(), &t.stages)
                    .await?;
            printer.unit_tests(&outcome);
            if outcome.failed > 0 {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Docs(d) => {
            let o = Overrides {
                warehouse: d.warehouse,
                ..Overrides::default()
            };
            let done = app::docs::build(d.pipeline.as_deref(), &o, d.out.as_deref()).await?;
            printer.docs(&done);
            if d.serve {
                let dir = done.out.clone();
                let served = tokio::task::spawn_blocking(move || {
                    app::docs::serve(&dir, d.port, |url| {
                        printer.notice(&format!("serving {url} (Ctrl-C stops)"))
                    })
                });
                served.await.map_err(|e| strata::StrataError::Io {
                    operation: "serve",
                    path: done.out.clone(),
                    source: std::io::Error::other(e.to_string()),
                })??;
            }
        }
        Command::Lineage(l) => {
            let o = Overrides {
                ds: l.ds.map(|d| d.to_string()),
                ..Overrides::default()
            };
            let direction = if l.downstream {
                app::lineage::Direction::Downstream
            } else {
                app::lineage::Direction::Upstream
            };
            let outcome =
                app::lineage::lineage(l.pipeline.as_deref(), &o, &l.target, direction).await?;
            printer.lineage(&outcome);
        }
        Command::ExplainCustomer(e) => {
            let o = Overrides {
                warehouse: e.warehouse,
                ..Overrides::default()
            };
            let result =
                app::explain::explain_customer(e.pipeline.as_deref(), &o, &e.customer_id).await?;
            printer.query(&result);
        }
        Command::Generate(g) => match g.dataset {
            Dataset::Crm(args) => {
                let dirty = dirty_rates(&args);
                let options = strata::generate::GenerateOptions {
                    customers: args.customers,
                    days: args.days,
                    end_date: args.end_date,
                    seed: args.seed,
                    truth_dir: args.truth.clone().unwrap_or_else(|| {
                        args.out
                            .parent()
                            .unwrap_or(std::path::Path::new("."))
                            .join("truth")
                    }),
                    ods_dir: args.out,
                    dirty,
                    progress: !printer.quiet,
                };
                let outcome = strata::generate::generate_crm(&options)
                    .map_err(|source| strata::StrataError::Generate { source })?;
                printer.generated(&outcome);
            }
        },
        #[cfg(feature = "ballista")]
        Command::Scheduler(s) => {
            strata::engine::distributed::run_scheduler(
                strata::engine::distributed::SchedulerSettings {
                    bind_host: s.bind_host,
                    bind_port: s.bind_port,
                    external_host: s.external_host,
                    executor_timeout_seconds: s.executor_timeout_seconds,
                    task_max_failures: s.task_max_failures,
                    stage_max_failures: s.stage_max_failures as usize,
                },
            )
            .await?;
        }
        #[cfg(feature = "ballista")]
        Command::Executor(e) => {
            strata::engine::distributed::run_executor(
                strata::engine::distributed::ExecutorSettings {
                    scheduler_host: e.scheduler_host,
                    scheduler_port: e.scheduler_port,
                    bind_host: e.bind_host,
                    external_host: e.external_host,
                    bind_port: e.bind_port,
                    bind_grpc_port: e.bind_grpc_port,
                    vcores: e.vcores,
                    work_dir: e.work_dir,
                    memory_pool_size: e.memory_pool_size,
                    heartbeat_interval_seconds: e.executor_heartbeat_interval_seconds,
                },
            )
            .await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The profile's rates, with the hostile rates given on the command line.
fn dirty_rates(args: &strata::cli::GenerateCrmArgs) -> strata::generate::DirtyRates {
    let mut dirty = match args.profile {
        strata::cli::Profile::Default => strata::generate::DirtyRates::default(),
        strata::cli::Profile::Hostile => strata::generate::DirtyRates::hostile(),
    };
    let h = &mut dirty.hostile;
    h.placeholder = args.placeholder_rate.unwrap_or(h.placeholder);
    h.chain = args.chain_rate.unwrap_or(h.chain);
    h.max_chain = args.max_chain.unwrap_or(h.max_chain);
    h.traditional = args.traditional_rate.unwrap_or(h.traditional);
    h.phone_extension = args.phone_extension_rate.unwrap_or(h.phone_extension);
    h.odd_forms = args.odd_forms_rate.unwrap_or(h.odd_forms);
    dirty
}

/// The cluster processes log what they do (registrations, jobs, lost executors) by default.
#[cfg(feature = "ballista")]
fn is_cluster_process(command: &Command) -> bool {
    matches!(command, Command::Scheduler(_) | Command::Executor(_))
}

#[cfg(not(feature = "ballista"))]
fn is_cluster_process(_: &Command) -> bool {
    false
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let filter = match cli.verbose {
        // Ballista's client logs a failed job at error level; strata reports the stage itself.
        0 if cli.quiet => "error,ballista_core=off,ballista=off",
        0 if is_cluster_process(&cli.command) => "info",
        0 => "warn",
        1 => "warn,strata=debug",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("STRATA_LOG").unwrap_or_else(|_| EnvFilter::new(filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.compact().init(),
    }
}
