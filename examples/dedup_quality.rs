//! Print pairwise precision and recall of deduplication against the generator's ground truth.
//!
//! Usage: cargo run --release --example dedup_quality -- WAREHOUSE TRUTH_DIR
//! (after `strata run` has published dwd_customer_source_map into WAREHOUSE).

use std::path::PathBuf;

#[allow(clippy::print_stdout)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let warehouse = PathBuf::from(args.next().unwrap_or_else(|| "warehouse".into()));
    let truth = PathBuf::from(args.next().unwrap_or_else(|| "data/truth".into()));
    let s = strata::app::quality::pairwise_scores(
        &warehouse.join("dwd/dwd_customer_source_map"),
        &truth.join("customer_truth.parquet"),
    )
    .await?;
    println!(
        "records {}  predicted pairs {}  true pairs {}  correct pairs {}\nprecision {:.4}  recall {:.4}",
        s.records, s.predicted_pairs, s.true_pairs, s.correct_pairs, s.precision, s.recall
    );
    Ok(())
}
