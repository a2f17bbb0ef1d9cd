//! Synthetic CRM source extracts: the ODS input of DOMAIN.md, with dirty data at configurable
//! rates and ground truth for measuring the pipeline.
//!
//! [`generate_crm`] writes every ODS table as hive-partitioned Parquet,
//! `ods_dir/<table>/ds=YYYY-MM-DD/part-0.parquet` (a partition only where rows landed), and
//! `truth_dir/customer_truth.parquet` plus `truth_dir/invalid_rows.parquet`. Besides DOMAIN.md's
//! ten tables, `ods_cs_plan` holds the customer-success plan assignments of seed 000's A/B test,
//! with a planted effect of plan B on renewal and NPS (see `plan` and its public constants,
//! [`PLAN_B_RENEWAL_RATE`] and [`PLAN_B_NPS_LIFT`]); the customer truth names each enrolled
//! customer's plan and start date.
//!
//! Phases: build the population of real customers in memory (`customers`), decide contracts and
//! customer-success plan enrollment (`lifecycle`, `plan`), then walk the landing days in order;
//! each day's events are drawn (`facts`), customer records landing that day are rendered
//! (`records`), and the day's rows go to writer threads (`writer`). Only a few weeks of fact
//! rows are held at a time, so memory is bounded by the population, not by the number of orders.
//!
//! Determinism: the same options give byte-identical files. All randomness is keyed by the seed
//! (`rng`); no clock, no hash-map iteration order.

mod calendar;
mod customers;
mod dirty;
mod facts;
mod hostile;
mod identity;
mod ids;
mod lifecycle;
mod names;
mod plan;
mod records;
mod rng;
mod rows;
mod text;
mod truth;
mod writer;

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use datafusion::arrow::error::ArrowError;
use datafusion::parquet::errors::ParquetError;
use indicatif::{ProgressBar, ProgressStyle};

pub use dirty::DirtyRates;
pub use hostile::HostileRates;
pub use plan::{
    BASE_RENEWAL_RATE, PLAN_B_NPS_LIFT, PLAN_B_RENEWAL_RATE, PLAN_B_SHARE, PLAN_TAKE_UP,
    ROLLOUT_FROM_DAYS_BEFORE_LAST, ROLLOUT_TO_DAYS_BEFORE_LAST,
};

use calendar::Calendar;
use customers::World;
use facts::Facts;
use rows::DayRows;
use writer::{Tally, write_day};

/// What to generate and where.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Number of real customers (distinct `true_customer_key`s).
    pub customers: usize,
    /// Number of landing days.
    pub days: u32,
    /// Last landing day (inclusive); landing days are `end_date - days + 1 ..= end_date`.
    pub end_date: chrono::NaiveDate,
    /// Seed of all randomness; the same options give byte-identical output.
    pub seed: u64,
    /// Root of the ODS tables. The generator replaces its own table directories there.
    pub ods_dir: PathBuf,
    /// Directory of `customer_truth.parquet` and `invalid_rows.parquet`.
    pub truth_dir: PathBuf,
    /// Rates of each kind of dirty data.
    pub dirty: DirtyRates,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What [`generate_crm`] wrote.
#[derive(Clone, Debug)]
pub struct GenerateOutcome {
    /// One entry per ODS table (DOMAIN.md order, then `ods_cs_plan`), then `customer_truth` and
    /// `invalid_rows`.
    pub tables: Vec<TableOutcome>,
    /// Wall time of the whole generation.
    pub elapsed: Duration,
}

/// Rows, files and bytes written for one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableOutcome {
    pub table: String,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// An option is out of its domain.
    #[error("invalid generate option `{option}`: {reason}")]
    InvalidOptions {
        option: &'static str,
        reason: String,
    },
    /// A file or directory could not be created, written or removed.
    #[error("cannot write {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A Parquet file could not be encoded.
    #[error("cannot encode Parquet file {}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    /// Rows of a table could not be assembled into an Arrow batch.
    #[error("cannot build the Arrow batch of table {table}")]
    Arrow {
        table: String,
        #[source]
        source: ArrowError,
    },
}

/// Most landing days a run may span (about 27 years).
const MAX_DAYS: u32 = 10_000;
/// Most real customers a run may have (ids keep their formats well below this).
const MAX_CUSTOMERS: usize = 50_000_000;
/// Writer threads: parquet encoding and compression dominate the cost.
const WRITERS: usize = 2;

fn validate(opts: &GenerateOptions) -> Result<(), GenerateError> {
    if opts.customers == 0 || opts.customers > MAX_CUSTOMERS {
        return Err(GenerateError::InvalidOptions {
            option: "customers",
            reason: format!("{} is not in 1..={MAX_CUSTOMERS}", opts.customers),
        });
    }
    if opts.days == 0 || opts.days > MAX_DAYS {
        return Err(GenerateError::InvalidOptions {
            option: "days",
            reason: format!("{} is not in 1..={MAX_DAYS}", opts.days),
        });
    }
    let year = chrono::Datelike::year(&opts.end_date);
    if !(1990..=2200).contains(&year) {
        return Err(GenerateError::InvalidOptions {
            option: "end_date",
            reason: format!("{} is not between 1990 and 2200", opts.end_date),
        });
    }
    opts.dirty.validate()
}

/// Generate the synthetic CRM extracts and their ground truth.
///
/// Replaces any previous output of the generator in `ods_dir` (its eleven table directories) and
/// `truth_dir` (the two truth files); nothing else there is touched.
pub fn generate_crm(opts: &GenerateOptions) -> Result<GenerateOutcome, GenerateError> {
    let started = Instant::now();
    validate(opts)?;
    let cal = Calendar::new(opts.end_date, opts.days);
    let (first, last) = (cal.first, cal.last);
    let mut world = World::build(opts.seed, opts.customers, cal, opts.dirty.clone());
    let contracts = lifecycle::contracts(&mut world);
    let world = world;
    let plans = plan::assignments(&world);
    let landings = records::schedule(&world);
    writer::clear_previous(&opts.ods_dir, &opts.truth_dir)?;

    let bar = if opts.progress {
        ProgressBar::new(u64::from(opts.days))
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} landing days {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }

    let mut facts = Facts::new(&world, contracts, plans);
    let tally = std::thread::scope(|scope| -> Result<Tally, GenerateError> {
        let mut senders = Vec::with_capacity(WRITERS);
        let mut handles = Vec::with_capacity(WRITERS);
        for _ in 0..WRITERS {
            let (tx, rx) = sync_channel::<(i32, DayRows)>(2);
            senders.push(tx);
            let ods_dir = &opts.ods_dir;
            handles.push(scope.spawn(move || -> Result<Tally, GenerateError> {
                let mut tally = Tally::default();
                for (day, rows) in rx {
                    write_day(ods_dir, day, &rows, &mut tally)?;
                }
                Ok(tally)
            }));
        }
        let mut next_landing = 0;
        let mut next_extra = 0;
        for (n, day) in (first..=last).enumerate() {
            facts.generate_day(day);
            let mut rows = facts.take(day);
            while let Some(landing) = landings.get(next_landing).filter(|l| l.day == day) {
                records::render(&world, landing, &mut rows);
                next_landing += 1;
            }
            while let Some(extra) = world.extras.get(next_extra).filter(|a| a.land_day == day) {
                records::render_extra(extra, &mut rows);
                next_extra += 1;
            }
            bar.set_message(calendar::date_of(day).to_string());
            if senders[n % WRITERS].send((day, rows)).is_err() {
                break; // that writer failed; its error is reported below
            }
            bar.inc(1);
        }
        drop(senders);
        let mut total = Tally::default();
        for handle in handles {
            match handle.join() {
                Ok(result) => total = total.merge(&result?),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(total)
    })?;
    bar.finish_and_clear();

    let mut tables = tally.outcomes();
    tables.push(truth::write_customer_truth(&world, &opts.truth_dir)?);
    tables.push(truth::write_invalid_rows(
        &mut facts.invalid,
        &opts.truth_dir,
    )?);
    Ok(GenerateOutcome {
        tables,
        elapsed: started.elapsed(),
    })
}
