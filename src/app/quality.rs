//! Measuring deduplication against the generator's ground truth: pairwise precision and recall.
//!
//! Two source records form a *predicted pair* when `dwd_customer_source_map` gives them the same
//! customer_id, and a *true pair* when the truth gives them the same true_customer_key.
//! Precision = correct pairs / predicted pairs; recall = correct pairs / true pairs. Counting
//! pairs is done per group (n records give n(n-1)/2 pairs), so it scales to millions of records.

use std::path::Path;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::error::{Result, StrataError};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PairScores {
    pub records: i64,
    pub predicted_pairs: i64,
    pub true_pairs: i64,
    pub correct_pairs: i64,
    pub precision: f64,
    pub recall: f64,
}

/// Compare a published `dwd_customer_source_map` directory with `customer_truth.parquet`.
pub async fn pairwise_scores(source_map_dir: &Path, truth_file: &Path) -> Result<PairScores> {
    let ctx = SessionContext::new();
    let q = |source| StrataError::Query { source };
    ctx.register_parquet(
        "map",
        &format!("{}/", source_map_dir.display()),
        ParquetReadOptions::default(),
    )
    .await
    .map_err(q)?;
    ctx.register_parquet(
        "truth",
        truth_file.to_string_lossy().as_ref(),
        ParquetReadOptions::default(),
    )
    .await
    .map_err(q)?;
    let sql = "
        WITH j AS (
          SELECT m.customer_id, t.true_customer_key
          FROM map m JOIN truth t
            ON t.source_system = m.source_system AND t.source_customer_id = m.source_customer_id
        ),
        pred AS (SELECT COUNT(*) AS n FROM j GROUP BY customer_id),
        tru AS (SELECT COUNT(*) AS n FROM j GROUP BY true_customer_key),
        ok AS (SELECT COUNT(*) AS n FROM j GROUP BY customer_id, true_customer_key)
        SELECT CAST((SELECT COUNT(*) FROM j) AS BIGINT),
               CAST((SELECT COALESCE(SUM(n * (n - 1) / 2), 0) FROM pred) AS BIGINT),
               CAST((SELECT COALESCE(SUM(n * (n - 1) / 2), 0) FROM tru) AS BIGINT),
               CAST((SELECT COALESCE(SUM(n * (n - 1) / 2), 0) FROM ok) AS BIGINT)";
    let batches = ctx.sql(sql).await.map_err(q)?.collect().await.map_err(q)?;
    let b = &batches[0];
    let v = |i: usize| b.column(i).as_primitive::<Int64Type>().value(0);
    let (records, predicted, truth, correct) = (v(0), v(1), v(2), v(3));
    let ratio = |a: i64, b: i64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    Ok(PairScores {
        records,
        predicted_pairs: predicted,
        true_pairs: truth,
        correct_pairs: correct,
        precision: ratio(correct, predicted),
        recall: ratio(correct, truth),
    })
}
