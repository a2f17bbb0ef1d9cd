//! Mutation test: hundreds of corrupted variants of a valid Parquet file (truncations, bit flips,
//! overwritten footers) go through the real ODS load (preflight plus a stage that reads every
//! row and column). No panic may escape, none may take more than a few seconds, and each must
//! end in a clean error or a correct read: every one of the 2,000 original rows, value for value.
//!
//! The file under test, `tests/fixtures/checksummed.parquet`, was written by pyarrow with a
//! CRC-32 in every page header, as parquet-mr (Spark, Hive) writes by default; strata verifies
//! those checksums. A second test runs the same mutations over a file written by arrow-rs, which
//! stores no page checksums: a flipped bit inside a data page cannot be told from data there, so
//! that test holds strata to "no panic, no hang, the original row count" and prints how many
//! reads came back with altered values.

mod util;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{
    Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use strata::app::run::{RunRequest, Silent, run};
use strata::settings::Overrides;

const ROWS: i64 = 2000;
const VARIANTS: usize = 520;
/// The longest one variant may take, load and read included.
const MAX_TIME: Duration = Duration::from_secs(5);
const LANDED: &str = "data/ods/ods_t/ds=2026-11-21/part-0.parquet";

const PIPELINE: &str = "name: mutate
sources:
  - name: ods_t
    location: data/ods/ods_t
    partitions: {ds: date}
stages:
  - name: dwd_t
    layer: dwd
    sql: sql/dwd/dwd_t.sql
";

/// The rows both files hold, computed here rather than read back from either file.
fn expected_row(i: i64) -> (Option<i64>, Option<String>, Option<f64>) {
    (
        Some(i),
        Some(format!("customer-{}", i % 97)),
        Some(i as f64 * 1.5),
    )
}

/// The same rows written by arrow-rs (no page checksums).
fn arrow_rs_file(p: &util::Project) -> Vec<u8> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    let rows: Vec<_> = (0..ROWS).map(expected_row).collect();
    let b = util::batch(
        schema,
        vec![
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.1.clone()).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
        ],
    );
    p.write_parquet(LANDED, &b);
    std::fs::read(p.path().join(LANDED)).unwrap()
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One corrupted copy of `good`, and a description of what was done to it.
fn mutate(good: &[u8], i: usize, rng: &mut Lcg) -> (Vec<u8>, String) {
    let mut b = good.to_vec();
    let n = b.len();
    let mut what = String::new();
    match i % 4 {
        0 => {
            let keep = rng.below(n);
            b.truncate(keep);
            write!(what, "truncated to {keep} bytes").unwrap();
        }
        1 => {
            what.push_str("bit flips at");
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(n);
                let bit = rng.below(8);
                b[at] ^= 1 << bit;
                write!(what, " {at}.{bit}").unwrap();
            }
        }
        2 => {
            // Bit flips in the last quarter: the footer (metadata, its length, the magic) and
            // the pages before it.
            what.push_str("tail bit flips at");
            let tail = (n / 4).max(64).min(n);
            for _ in 0..1 + rng.below(4) {
                let at = n - 1 - rng.below(tail);
                let bit = rng.below(8);
                b[at] ^= 1 << bit;
                write!(what, " {at}.{bit}").unwrap();
            }
        }
        _ => {
            // Overwrite part of the footer with random bytes.
            let len = 1 + rng.below(64);
            let start = n.saturating_sub(8 + rng.below(512));
            let end = (start + len).min(n);
            for byte in &mut b[start..end] {
                *byte = rng.next() as u8;
            }
            write!(what, "random bytes over {start}..{end}").unwrap();
        }
    }
    (b, what)
}

/// Whether the published table holds exactly the original rows.
fn is_original(batches: &[RecordBatch]) -> bool {
    let mut got = Vec::new();
    for b in batches {
        let ids = b.column(0).as_primitive::<Int64Type>();
        let names = cast(b.column(1), &DataType::Utf8).expect("name is a string");
        let names = names.as_string::<i32>();
        let amounts = b.column(2).as_primitive::<Float64Type>();
        for row in 0..b.num_rows() {
            got.push((
                ids.is_valid(row).then(|| ids.value(row)),
                names.is_valid(row).then(|| names.value(row).to_string()),
                amounts.is_valid(row).then(|| amounts.value(row)),
            ));
        }
    }
    let want: Vec<_> = (0..ROWS).map(expected_row).collect();
    got == want
}

#[derive(Default)]
struct Tally {
    errors: usize,
    correct: usize,
    altered: Vec<String>,
    slowest: Duration,
}

impl Tally {
    #[allow(clippy::print_stdout)]
    fn print(&self, file: &str) {
        println!(
            "{file}, {VARIANTS} variants: {} errors, {} correct reads, {} reads with altered values; slowest {:?}",
            self.errors,
            self.correct,
            self.altered.len(),
            self.slowest
        );
    }
}

/// Land each corrupted variant of `good` as the only ODS file and run the pipeline on it.
async fn run_variants(p: &util::Project, good: &[u8], seed: u64) -> Tally {
    p.write("pipelines/mutate.yaml", PIPELINE);
    p.write(
        "sql/dwd/dwd_t.sql",
        "SELECT id, name, amount FROM ods_t WHERE ds <= $ds\n",
    );
    let file = p.path().join(LANDED);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let pipeline = p.path().join("pipelines/mutate.yaml");
    let request = RunRequest {
        overrides: Overrides {
            ds: Some("2026-11-21".into()),
            warehouse: Some(p.path().join("warehouse").display().to_string()),
            memory_limit: Some("512MB".into()),
            ..Overrides::default()
        },
        ..RunRequest::default()
    };
    let mut rng = Lcg(seed);
    let mut tally = Tally::default();
    for i in 0..VARIANTS {
        let (bytes, what) = mutate(good, i, &mut rng);
        std::fs::write(&file, &bytes).unwrap();
        let started = Instant::now();
        let outcome = tokio::time::timeout(MAX_TIME, run(Some(&pipeline), &request, &Silent))
            .await
            .unwrap_or_else(|_| panic!("variant {i} ({what}) took over {MAX_TIME:?}"));
        tally.slowest = tally.slowest.max(started.elapsed());
        let error = match outcome {
            Err(e) => Some(strata::report::render_error(&e)),
            Ok(o) if o.failed() > 0 => Some(format!("{:?}", o.stages[0].status)),
            Ok(_) => None,
        };
        match error {
            Some(text) => {
                // Every error names the damaged file, whether the footer check before the run
                // or the stage that decoded the pages found the damage.
                assert!(
                    text.contains(LANDED),
                    "variant {i} ({what}): the error does not name the file: {text}"
                );
                tally.errors += 1;
            }
            None => {
                assert!(
                    i % 4 != 0,
                    "variant {i}: a file {what} of {} must not read",
                    good.len()
                );
                let got = util::query_dir(
                    &p.path().join("warehouse/dwd/dwd_t"),
                    "SELECT id, name, amount FROM t ORDER BY id, name, amount",
                )
                .await;
                let rows: usize = got.iter().map(RecordBatch::num_rows).sum();
                assert_eq!(rows as i64, ROWS, "variant {i} ({what}) read {rows} rows");
                if is_original(&got) {
                    tally.correct += 1;
                } else {
                    tally.altered.push(format!("variant {i}: {what}"));
                }
            }
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_checksummed_parquet_ends_in_an_error_or_a_correct_read() {
    let p = util::Project::new();
    let good = std::fs::read(util::repo_root().join("tests/fixtures/checksummed.parquet")).unwrap();
    let tally = run_variants(&p, &good, 0xC0FFEE).await;
    tally.print("checksummed file written by pyarrow");
    assert!(
        tally.altered.is_empty(),
        "{} variants read altered values:\n{}",
        tally.altered.len(),
        tally.altered.join("\n")
    );
    assert_eq!(tally.errors + tally.correct, VARIANTS);
    // Both kinds of outcome occur, so the corruption is neither always fatal nor always harmless.
    assert!(tally.errors > 0 && tally.correct > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_unchecksummed_parquet_never_panics_or_hangs() {
    let p = util::Project::new();
    let good = arrow_rs_file(&p);
    let tally = run_variants(&p, &good, 0xC0FFEE).await;
    tally.print("file written by arrow-rs, without page checksums");
    assert_eq!(tally.errors + tally.correct + tally.altered.len(), VARIANTS);
}
