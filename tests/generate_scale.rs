//! Timing run of the generator at a chosen size (ignored by default).
//!
//! `GEN_CUSTOMERS=1000000 GEN_DAYS=400 GEN_OUT=/tmp/gen cargo test --release --test generate_scale -- --ignored --nocapture`
//! prints rows, files and bytes per table and the wall time.

use std::path::PathBuf;

use chrono::NaiveDate;
use strata::generate::{DirtyRates, GenerateOptions, generate_crm};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "timing run; set GEN_CUSTOMERS / GEN_DAYS / GEN_OUT"]
#[allow(clippy::print_stderr)] // the point of this run is to print its measurements
fn generate_at_scale() {
    let out = PathBuf::from(env_or("GEN_OUT", "/tmp/strata-generate-scale".to_string()));
    let opts = GenerateOptions {
        customers: env_or("GEN_CUSTOMERS", 20_000usize),
        days: env_or("GEN_DAYS", 395u32),
        end_date: NaiveDate::from_ymd_opt(2026, 6, 30).expect("valid date"),
        seed: env_or("GEN_SEED", 42u64),
        ods_dir: out.join("ods"),
        truth_dir: out.join("truth"),
        dirty: DirtyRates::default(),
        progress: env_or("GEN_PROGRESS", false),
    };
    let outcome = generate_crm(&opts).expect("generation succeeds");
    for t in &outcome.tables {
        eprintln!(
            "{:<24} rows {:>11} files {:>6} bytes {:>12}",
            t.table, t.rows, t.files, t.bytes
        );
    }
    eprintln!("elapsed {:.2?}", outcome.elapsed);
}
