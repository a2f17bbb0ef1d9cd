//! Writing ODS fixtures: a table as typed columns of optional values, landed on one `ds`.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

use super::Project;

/// One column of fixture values.
pub enum Col<'a> {
    Str(Vec<Option<&'a str>>),
    /// RFC 3339 instants, e.g. `2026-11-20T16:30:00Z`.
    Ts(Vec<Option<&'a str>>),
    /// `YYYY-MM-DD`.
    Date(Vec<Option<&'a str>>),
    /// Decimal(18,2) from text such as `100.50`.
    Dec(Vec<Option<&'a str>>),
    Bool(Vec<Option<bool>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
}

fn day(text: &str) -> i32 {
    let d = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn cents(text: &str) -> i128 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
    let neg = whole.starts_with('-');
    let w: i128 = whole.trim_start_matches('-').parse().unwrap();
    let f: i128 = format!("{frac:0<2}")[..2].parse().unwrap();
    let v = w * 100 + f;
    if neg { -v } else { v }
}

impl Col<'_> {
    fn array(&self) -> (DataType, ArrayRef) {
        match self {
            Col::Str(v) => (DataType::Utf8, Arc::new(StringArray::from(v.clone()))),
            Col::Ts(v) => (
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                Arc::new(
                    TimestampMicrosecondArray::from(
                        v.iter()
                            .map(|t| {
                                t.map(|t| {
                                    chrono::DateTime::parse_from_rfc3339(t)
                                        .unwrap()
                                        .timestamp_micros()
                                })
                            })
                            .collect::<Vec<_>>(),
                    )
                    .with_timezone("UTC"),
                ),
            ),
            Col::Date(v) => (
                DataType::Date32,
                Arc::new(Date32Array::from(
                    v.iter().map(|d| d.map(day)).collect::<Vec<_>>(),
                )),
            ),
            Col::Dec(v) => (
                DataType::Decimal128(18, 2),
                Arc::new(
                    Decimal128Array::from(v.iter().map(|d| d.map(cents)).collect::<Vec<_>>())
                        .with_precision_and_scale(18, 2)
                        .unwrap(),
                ),
            ),
            Col::Bool(v) => (DataType::Boolean, Arc::new(BooleanArray::from(v.clone()))),
            Col::I32(v) => (DataType::Int32, Arc::new(Int32Array::from(v.clone()))),
            Col::I64(v) => (DataType::Int64, Arc::new(Int64Array::from(v.clone()))),
        }
    }
}

/// Write `columns` as `data/ods/<table>/ds=<ds>/part-0.parquet` in the project.
pub fn land(p: &Project, table: &str, ds: &str, columns: Vec<(&str, Col<'_>)>) {
    land_file(p, table, ds, "part-0", columns);
}

/// Write `columns` as `data/ods/<table>/ds=<ds>/<file>.parquet` (several files per landing).
pub fn land_file(p: &Project, table: &str, ds: &str, file: &str, columns: Vec<(&str, Col<'_>)>) {
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns
        .iter()
        .map(|(name, col)| {
            let (dt, a) = col.array();
            (Field::new(*name, dt, true), a)
        })
        .unzip();
    let batch = super::batch(Arc::new(Schema::new(fields)), arrays);
    p.write_parquet(&format!("data/ods/{table}/ds={ds}/{file}.parquet"), &batch);
}

/// A project with the bundled pipeline, SQL and seeds copied in, and no ODS data yet.
pub fn crm_project() -> Project {
    let p = Project::new();
    let root = super::repo_root();
    for dir in ["pipelines", "sql", "data/seeds"] {
        copy_dir(&root.join(dir), &p.path().join(dir));
    }
    p
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
