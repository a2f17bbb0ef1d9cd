//! Helpers for the generator tests: run the generator into a throwaway directory and read its
//! hive-partitioned Parquet back, with the landing date taken from the directory name.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{
    Date32Type, Decimal128Type, Int32Type, Int64Type, SchemaRef, TimestampMicrosecondType,
};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use strata::generate::{DirtyRates, GenerateOptions, GenerateOutcome, generate_crm};

/// Every ODS table the generator writes, in output order: DOMAIN.md's ten, then the
/// customer-success plan assignments.
pub const ODS_TABLES: [&str; 11] = [
    "ods_crm_customer",
    "ods_shop_customer",
    "ods_erp_customer",
    "ods_order",
    "ods_interaction",
    "ods_survey",
    "ods_contract",
    "ods_product_usage",
    "ods_competitor_signal",
    "ods_lead",
    "ods_cs_plan",
];

pub fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 30).expect("valid date")
}

/// Generate into `root/ods` and `root/truth`.
pub fn generate(
    root: &Path,
    customers: usize,
    days: u32,
    seed: u64,
    dirty: DirtyRates,
) -> GenerateOutcome {
    let opts = GenerateOptions {
        customers,
        days,
        end_date: end_date(),
        seed,
        ods_dir: root.join("ods"),
        truth_dir: root.join("truth"),
        dirty,
        progress: false,
    };
    generate_crm(&opts).expect("generation succeeds")
}

/// Every file under `dir`, by relative path, with its bytes.
pub fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("readable dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under base").to_path_buf();
                out.insert(rel, std::fs::read(&path).expect("readable file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Read one Parquet file.
pub fn read_file(path: &Path) -> RecordBatch {
    let file = File::open(path).expect("file opens");
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder
        .build()
        .expect("reader")
        .map(|b| b.expect("batch"))
        .collect();
    concat_batches(&schema, &batches).expect("concat")
}

/// The partition files of a table: `(ds, path)`, sorted by ds.
pub fn partitions(ods: &Path, table: &str) -> Vec<(NaiveDate, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(ods.join(table)).expect("table dir") {
        let dir = entry.expect("entry").path();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_string();
        let ds = name.strip_prefix("ds=").expect("hive partition name");
        let ds = NaiveDate::parse_from_str(ds, "%Y-%m-%d").expect("ds is a date");
        for file in std::fs::read_dir(&dir).expect("partition dir") {
            out.push((ds, file.expect("file").path()));
        }
    }
    out.sort();
    out
}

/// A whole table with the landing date of each row.
pub struct Landed {
    pub schema: SchemaRef,
    pub batch: RecordBatch,
    pub ds: Vec<NaiveDate>,
}

pub fn read_table(ods: &Path, table: &str) -> Landed {
    let mut batches = Vec::new();
    let mut ds = Vec::new();
    for (day, path) in partitions(ods, table) {
        let b = read_file(&path);
        ds.extend(std::iter::repeat_n(day, b.num_rows()));
        batches.push(b);
    }
    let schema = batches
        .first()
        .map(|b| b.schema())
        .expect("table has files");
    let batch = concat_batches(&schema, &batches).expect("same schema in every file");
    Landed { schema, batch, ds }
}

impl Landed {
    fn col(&self, name: &str) -> &ArrayRef {
        self.batch
            .column_by_name(name)
            .unwrap_or_else(|| panic!("column {name}"))
    }

    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn str(&self, name: &str) -> Vec<Option<String>> {
        let a = self.col(name).as_string::<i32>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
            .collect()
    }

    pub fn ts(&self, name: &str) -> Vec<Option<i64>> {
        let a = self.col(name).as_primitive::<TimestampMicrosecondType>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    pub fn date(&self, name: &str) -> Vec<Option<i32>> {
        let a = self.col(name).as_primitive::<Date32Type>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    pub fn decimal(&self, name: &str) -> Vec<Option<i128>> {
        let a = self.col(name).as_primitive::<Decimal128Type>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    pub fn int32(&self, name: &str) -> Vec<Option<i32>> {
        let a = self.col(name).as_primitive::<Int32Type>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    pub fn int64(&self, name: &str) -> Vec<Option<i64>> {
        let a = self.col(name).as_primitive::<Int64Type>();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    pub fn bool(&self, name: &str) -> Vec<Option<bool>> {
        let a = self.col(name).as_boolean();
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect()
    }

    pub fn ds_days(&self) -> Vec<i32> {
        self.ds.iter().map(|d| epoch_day(*d)).collect()
    }
}

pub fn epoch_day(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    d.signed_duration_since(epoch).num_days() as i32
}

/// The Asia/Shanghai business date (epoch day) of a UTC microsecond instant.
pub fn shanghai_day(ts: i64) -> i32 {
    const DAY: i64 = 86_400_000_000;
    (ts + 8 * 3_600_000_000).div_euclid(DAY) as i32
}

/// The truth tables as `(a, b, c)` string triples.
pub fn truth(root: &Path, name: &str) -> Vec<(String, String, String)> {
    let b = read_file(&root.join("truth").join(format!("{name}.parquet")));
    let cols: Vec<Vec<String>> = (0..3)
        .map(|i| {
            let a = b.column(i).as_string::<i32>();
            (0..a.len()).map(|r| a.value(r).to_string()).collect()
        })
        .collect();
    (0..b.num_rows())
        .map(|r| (cols[0][r].clone(), cols[1][r].clone(), cols[2][r].clone()))
        .collect()
}

/// The rejects DOMAIN.md's acceptance rules give for the landed ODS, computed here
/// independently of the generator: dedup on the record id (latest `updated_at`, then latest
/// landing ds), then the first matching reason code. `(source_table, source_key, reason)`.
pub fn expected_rejects(ods: &Path) -> BTreeSet<(String, String, String)> {
    let ids = |table: &str, col: &str| -> HashSet<String> {
        read_table(ods, table)
            .str(col)
            .into_iter()
            .flatten()
            .collect()
    };
    let crm = ids("ods_crm_customer", "crm_id");
    let shop = ids("ods_shop_customer", "shop_uid");
    let erp = ids("ods_erp_customer", "erp_code");
    let fx = ["CNY", "USD", "EUR", "HKD", "JPY", "GBP"];
    let mut out = BTreeSet::new();

    // Latest version per key: index of the row with the greatest (updated_at, ds).
    fn latest(keys: &[Option<String>], order: impl Fn(usize) -> (i64, i32)) -> Vec<usize> {
        let mut best: HashMap<&str, usize> = HashMap::new();
        let mut null_rows = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match k {
                None => null_rows.push(i),
                Some(k) => {
                    let e = best.entry(k.as_str()).or_insert(i);
                    if order(i) > order(*e) {
                        *e = i;
                    }
                }
            }
        }
        let mut rows: Vec<usize> = best.into_values().chain(null_rows).collect();
        rows.sort_unstable();
        rows
    }

    let o = read_table(ods, "ods_order");
    let (id, sys, cust, time, amount, cur, upd, ds) = (
        o.str("order_id"),
        o.str("source_system"),
        o.str("source_customer_id"),
        o.ts("order_time"),
        o.decimal("amount"),
        o.str("currency"),
        o.ts("updated_at"),
        o.ds_days(),
    );
    for i in latest(&id, |i| (upd[i].unwrap_or(i64::MIN), ds[i])) {
        let known = match (sys[i].as_deref(), cust[i].as_deref()) {
            (Some("shop"), Some(c)) => shop.contains(c),
            (Some("erp"), Some(c)) => erp.contains(c),
            _ => false,
        };
        let reason = if id[i].is_none() || cust[i].is_none() {
            "null_key"
        } else if !known {
            "orphan_customer"
        } else if time[i].is_some_and(|t| shanghai_day(t) > ds[i]) {
            "future_event"
        } else if amount[i].is_some_and(|a| a < 0) {
            "negative_amount"
        } else if !cur[i].as_deref().is_some_and(|c| fx.contains(&c)) {
            "unknown_currency"
        } else {
            continue;
        };
        out.insert((
            "ods_order".into(),
            id[i].clone().unwrap_or_default(),
            reason.into(),
        ));
    }

    let by_crm =
        |table: &str, key: &str, at: &str, out: &mut BTreeSet<(String, String, String)>| {
            let t = read_table(ods, table);
            let (id, c, ts, ds) = (t.str(key), t.str("crm_id"), t.ts(at), t.ds_days());
            let (kind, score) = if table == "ods_survey" {
                (t.str("survey_type"), t.str("score"))
            } else {
                (vec![], vec![])
            };
            for i in latest(&id, |i| (0, ds[i])) {
                let reason = if id[i].is_none() || c[i].is_none() {
                    "null_key"
                } else if !c[i].as_deref().is_some_and(|c| crm.contains(c)) {
                    "orphan_customer"
                } else if ts[i].is_some_and(|t| shanghai_day(t) > ds[i]) {
                    "future_event"
                } else if table == "ods_survey"
                    && !valid_score(kind[i].as_deref(), score[i].as_deref())
                {
                    "invalid_score"
                } else {
                    continue;
                };
                out.insert((
                    table.into(),
                    id[i].clone().unwrap_or_default(),
                    reason.into(),
                ));
            }
        };
    by_crm("ods_interaction", "interaction_id", "occurred_at", &mut out);
    by_crm("ods_survey", "response_id", "submitted_at", &mut out);
    by_crm("ods_contract", "contract_id", "signed_at", &mut out);
    by_crm(
        "ods_competitor_signal",
        "signal_id",
        "detected_at",
        &mut out,
    );
    by_crm("ods_lead", "lead_id", "first_contact_at", &mut out);
    out
}

/// Seed 000 / DOMAIN.md: the trimmed text is an integer literal in 0..10 (NPS) or 1..5 (CSAT).
pub fn valid_score(kind: Option<&str>, score: Option<&str>) -> bool {
    let Some(s) = score.map(str::trim) else {
        return false;
    };
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let Ok(n) = s.parse::<i64>() else {
        return false;
    };
    match kind {
        Some("NPS") => (0..=10).contains(&n),
        Some("CSAT") => (1..=5).contains(&n),
        _ => false,
    }
}
