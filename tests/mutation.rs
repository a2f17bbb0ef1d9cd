//! Mutation test: hundreds of corrupted variants of a valid Parquet file (truncations, bit flips,
//! overwritten footers) go through the real ODS load (preflight plus a stage reading every
//! column). No panic may escape, none may take more than a few seconds, and each must end in a
//! clean error or a read with the original schema and row count.
//!
//! Files written without page checksums cannot reveal every flipped bit inside a data page, so
//! a read may return altered values; the test counts those separately (they are the format's
//! limit, not a crash).

mod util;

use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Float64Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use strata::app::run::{RunRequest, Silent, run};
use strata::settings::Overrides;

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

fn original(p: &util::Project) -> Vec<u8> {
    let n = 2000;
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("amount", DataType::Float64, true),
    ]));
    let b = util::batch(
        schema,
        vec![
            Arc::new(Int64Array::from((0..n).collect::<Vec<i64>>())),
            Arc::new(StringArray::from(
                (0..n)
                    .map(|i| format!("customer-{}", i % 97))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                (0..n).map(|i| i as f64 * 1.5).collect::<Vec<_>>(),
            )),
        ],
    );
    p.write_parquet("data/ods/ods_t/ds=2026-11-21/part-0.parquet", &b);
    std::fs::read(p.path().join("data/ods/ods_t/ds=2026-11-21/part-0.parquet")).unwrap()
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

fn mutate(good: &[u8], i: usize, rng: &mut Lcg) -> Vec<u8> {
    let mut b = good.to_vec();
    let n = b.len();
    match i % 4 {
        0 => b.truncate(rng.below(n)),
        1 => {
            // Bit flips anywhere.
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(n);
                b[at] ^= 1 << rng.below(8);
            }
        }
        2 => {
            // Bit flips in the footer (metadata, its length, the magic).
            let tail = (n / 4).max(64).min(n);
            for _ in 0..1 + rng.below(4) {
                let at = n - 1 - rng.below(tail);
                b[at] ^= 1 << rng.below(8);
            }
        }
        _ => {
            // Overwrite part of the footer with random bytes.
            let len = 1 + rng.below(64);
            let start = n.saturating_sub(8 + rng.below(512));
            for byte in &mut b[start..(start + len).min(n)] {
                *byte = rng.next() as u8;
            }
        }
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)]
async fn corrupted_parquet_never_panics_or_hangs() {
    let p = util::Project::new();
    p.write("pipelines/mutate.yaml", PIPELINE);
    p.write("sql/dwd/dwd_t.sql", "SELECT COUNT(*) AS n, SUM(id) AS ids, COUNT(DISTINCT name) AS names, SUM(amount) AS total FROM ods_t WHERE ds <= $ds\n");
    let good = original(&p);
    let file = p.path().join("data/ods/ods_t/ds=2026-11-21/part-0.parquet");
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
    let mut rng = Lcg(0xC0FFEE);
    let (mut errors, mut same, mut altered) = (0, 0, 0);
    let mut slowest = Duration::ZERO;
    for i in 0..520 {
        let bytes = mutate(&good, i, &mut rng);
        std::fs::write(&file, &bytes).unwrap();
        let started = Instant::now();
        let outcome = tokio::time::timeout(
            Duration::from_secs(10),
            run(Some(&pipeline), &request, &Silent),
        )
        .await
        .unwrap_or_else(|_| panic!("variant {i} hung"));
        slowest = slowest.max(started.elapsed());
        match outcome {
            Err(e) => {
                let text = strata::report::render_error(&e);
                assert!(text.starts_with("error: "), "variant {i}: {text}");
                errors += 1;
            }
            Ok(o) if o.failed() > 0 => errors += 1,
            Ok(_) => {
                assert!(
                    i % 4 != 0,
                    "a truncated file ({} of {} bytes) must not read",
                    bytes.len(),
                    good.len()
                );
                let got = util::pretty(
                    &util::query_dir(
                        &p.path().join("warehouse/dwd/dwd_t"),
                        "SELECT n, ids, names, total FROM t",
                    )
                    .await,
                );
                // 2000 rows; ids 0..1999 sum to 1999000; 97 names; amounts sum to 1.5 * 1999000.
                if got.contains("| 2000 | 1999000 | 97    | 2998500.0 |") {
                    same += 1;
                } else {
                    assert!(
                        got.contains("| 2000 |"),
                        "variant {i} read a different row count:\n{got}"
                    );
                    altered += 1;
                }
            }
        }
    }
    println!(
        "520 variants: {errors} errors, {same} correct reads, {altered} reads with altered values; slowest {slowest:?}"
    );
    assert!(slowest < Duration::from_secs(10));
    assert_eq!(errors + same + altered, 520);
}
