//! Ground truth for tests of the pipeline (never read by the pipeline).
//!
//! - `customer_truth.parquet`: source_system, source_customer_id, true_customer_key for every
//!   customer source record that lands, and the real customer's customer-success plan:
//!   `cs_plan` ('A' or 'B') and `cs_plan_start` (DATE), on every record of an enrolled customer
//!   and null for everyone else (see `plan`).
//! - `invalid_rows.parquet`: source_table, source_key, reason for every fact record whose
//!   *final* version (after DOMAIN.md's dedup: latest `updated_at`, then latest landing `ds`)
//!   is rejected, with the first matching reason code in DOMAIN.md's order.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Date32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use super::calendar::business_day;
use super::customers::World;
use super::ids::{crm_id, erp_code, shop_uid, true_key};
use super::plan::Plan;
use super::writer::write_parquet;
use super::{GenerateError, TableOutcome};

/// Reason codes of the acceptance rules, in their order of precedence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reason {
    NullKey,
    OrphanCustomer,
    FutureEvent,
    NegativeAmount,
    UnknownCurrency,
    InvalidScore,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::NullKey => "null_key",
            Reason::OrphanCustomer => "orphan_customer",
            Reason::FutureEvent => "future_event",
            Reason::NegativeAmount => "negative_amount",
            Reason::UnknownCurrency => "unknown_currency",
            Reason::InvalidScore => "invalid_score",
        }
    }
}

/// One record that the pipeline must reject.
pub(crate) struct InvalidRow {
    pub table: &'static str,
    pub key: String,
    pub reason: Reason,
}

/// How a customer reference of an interaction or survey was written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CustomerRef {
    Valid,
    Null,
    Unknown,
}

/// The reject reason of an order, given the landing day of its final version (after dedup)
/// and its fields (which all versions share, except status and `updated_at`).
pub(crate) fn order_reason(
    final_landing: i32,
    orphan: bool,
    order_time: i64,
    amount: i128,
    currency: &str,
) -> Option<Reason> {
    if orphan {
        Some(Reason::OrphanCustomer)
    } else if business_day(order_time) > final_landing {
        Some(Reason::FutureEvent)
    } else if amount < 0 {
        Some(Reason::NegativeAmount)
    } else if !super::facts::KNOWN_CURRENCIES.contains(&currency) {
        Some(Reason::UnknownCurrency)
    } else {
        None
    }
}

/// The reject reason of an interaction or survey with a single version.
pub(crate) fn reference_reason(customer: CustomerRef, score_valid: bool) -> Option<Reason> {
    match customer {
        CustomerRef::Null => Some(Reason::NullKey),
        CustomerRef::Unknown => Some(Reason::OrphanCustomer),
        CustomerRef::Valid if !score_valid => Some(Reason::InvalidScore),
        CustomerRef::Valid => None,
    }
}

/// Whether a survey score as typed is accepted (DOMAIN.md: the trimmed text is an integer
/// literal within 0..10 for NPS or 1..5 for CSAT).
pub(crate) fn score_is_valid(survey_type: &str, score: &str) -> bool {
    let t = score.trim();
    if t.is_empty()
        || !t
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-'))
    {
        return false;
    }
    match t.parse::<i64>() {
        Ok(n) if survey_type == "NPS" => (0..=10).contains(&n),
        Ok(n) => (1..=5).contains(&n),
        Err(_) => false,
    }
}

fn utf8_batch(
    names: [&str; 3],
    columns: [Vec<&str>; 3],
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let schema = Arc::new(Schema::new(
        names.map(|n| Field::new(n, DataType::Utf8, false)).to_vec(),
    ));
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect();
    RecordBatch::try_new(schema, arrays)
}

/// Write `customer_truth.parquet`.
pub(crate) fn write_customer_truth(
    world: &World,
    dir: &Path,
) -> Result<TableOutcome, GenerateError> {
    let mut rows: Vec<(&'static str, String, String)> = Vec::new();
    let mut plans: Vec<Option<Plan>> = Vec::new();
    for (i, c) in world.customers.iter().enumerate() {
        let t = true_key(i as u32);
        let records = [
            ("crm", c.crm.map(|r| crm_id(r.no))),
            ("shop", c.shop.map(|r| shop_uid(r.no))),
            ("shop", c.shop2.map(|r| shop_uid(r.no))),
            ("erp", c.erp.map(|r| erp_code(r.no))),
        ];
        for (system, id) in records {
            if let Some(id) = id {
                rows.push((system, id, t.clone()));
                plans.push(c.plan);
            }
        }
    }
    let n = world.customers.len() as u32;
    for a in &world.extras {
        rows.push(("shop", shop_uid(a.no), true_key(n + a.customer)));
        plans.push(None);
    }
    let arrow = |source| GenerateError::Arrow {
        table: "customer_truth".into(),
        source,
    };
    let batch = utf8_batch(
        ["source_system", "source_customer_id", "true_customer_key"],
        [
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1.as_str()).collect(),
            rows.iter().map(|r| r.2.as_str()).collect(),
        ],
    )
    .map_err(arrow)?;
    let plan = StringArray::from_iter(plans.iter().map(|p| p.map(|p| if p.b { "B" } else { "A" })));
    let start = Date32Array::from_iter(plans.iter().map(|p| p.map(|p| p.start)));
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("cs_plan", DataType::Utf8, true));
    fields.push(Field::new("cs_plan_start", DataType::Date32, true));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(plan));
    columns.push(Arc::new(start));
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(arrow)?;
    write_truth(dir, "customer_truth", &batch)
}

/// Write `invalid_rows.parquet`, sorted by table and key.
pub(crate) fn write_invalid_rows(
    rows: &mut [InvalidRow],
    dir: &Path,
) -> Result<TableOutcome, GenerateError> {
    rows.sort_unstable_by(|a, b| (a.table, &a.key).cmp(&(b.table, &b.key)));
    let batch = utf8_batch(
        ["source_table", "source_key", "reason"],
        [
            rows.iter().map(|r| r.table).collect(),
            rows.iter().map(|r| r.key.as_str()).collect(),
            rows.iter().map(|r| r.reason.code()).collect(),
        ],
    )
    .map_err(|source| GenerateError::Arrow {
        table: "invalid_rows".into(),
        source,
    })?;
    write_truth(dir, "invalid_rows", &batch)
}

fn write_truth(dir: &Path, name: &str, batch: &RecordBatch) -> Result<TableOutcome, GenerateError> {
    std::fs::create_dir_all(dir).map_err(|source| GenerateError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let bytes = write_parquet(&dir.join(format!("{name}.parquet")), batch)?;
    Ok(TableOutcome {
        table: name.to_string(),
        rows: batch.num_rows() as u64,
        files: 1,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_acceptance_rule() {
        for ok in ["9", " 9", "10 ", "0", " 7 "] {
            assert!(score_is_valid("NPS", ok), "{ok:?}");
        }
        for bad in ["", "  ", "N/A", "11", "-1", "4.0", "8.5", "十"] {
            assert!(!score_is_valid("NPS", bad), "{bad:?}");
        }
        for bad in ["0", "6", " 9", "3.0", "-1"] {
            assert!(!score_is_valid("CSAT", bad), "{bad:?}");
        }
        assert!(score_is_valid("CSAT", " 5"));
    }

    #[test]
    fn first_matching_reason_wins() {
        use super::super::calendar::{HOUR_US, instant};
        let day = 20_000;
        let order_time = instant(day + 11, 10 * HOUR_US);
        // Landed on day 10 with an order date of day 11: future, unless re-landed by day 11.
        assert_eq!(
            order_reason(day + 10, false, order_time, 100, "CNY"),
            Some(Reason::FutureEvent)
        );
        assert_eq!(order_reason(day + 12, false, order_time, 100, "CNY"), None);
        assert_eq!(
            order_reason(day + 10, true, order_time, -1, "XYZ"),
            Some(Reason::OrphanCustomer)
        );
        assert_eq!(
            order_reason(day + 12, false, order_time, -1, "XYZ"),
            Some(Reason::NegativeAmount)
        );
        assert_eq!(
            order_reason(day + 12, false, order_time, 1, "XYZ"),
            Some(Reason::UnknownCurrency)
        );
    }
}
