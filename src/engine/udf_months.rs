//! `months_elapsed(from, to)`: whole calendar months from one date to another, for cohort
//! reports that count months since an event (the plan experiment's months since the plan start).
//!
//! `(year(to) - year(from)) * 12 + month(to) - month(from)`, less one while the day of the month
//! of `from` is not yet reached in `to` (as Postgres' `age()` counts months): from 2026-06-10,
//! 2026-07-09 is 0 and 2026-07-10 is 1; from 2026-01-31, 2026-02-28 is 0 and 2026-03-01 is 1.
//! When `to` is earlier the count runs backwards and is negated, as Postgres' `age()` does:
//! 2026-06-10 to 2026-06-05 is 0, to 2026-05-10 is -1. Both arguments must be DATEs: a
//! timestamp is refused at planning (its date depends on the zone: use `business_date(ts)`),
//! and so are strings and numbers. NULL in, NULL out; the result is BIGINT.

use std::sync::Arc;

use chrono::Datelike;
use datafusion::arrow::array::{Array, ArrayRef, Date32Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

/// Whole months from `from` to `to` (see the module docs).
pub fn months_elapsed(from: chrono::NaiveDate, to: chrono::NaiveDate) -> i64 {
    if to < from {
        return -months_elapsed(to, from);
    }
    let months = (i64::from(to.year()) - i64::from(from.year())) * 12 + i64::from(to.month())
        - i64::from(from.month());
    months - i64::from(to.day() < from.day())
}

/// The `months_elapsed` UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct MonthsElapsed {
    signature: Signature,
}

impl MonthsElapsed {
    pub fn new() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for MonthsElapsed {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for MonthsElapsed {
    fn name(&self) -> &str {
        "months_elapsed"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        for t in arg_types {
            if !matches!(t, DataType::Date32 | DataType::Date64 | DataType::Null) {
                return plan_err!(
                    "months_elapsed(from, to) takes two DATEs, not {t}: for a timestamp use business_date(ts), for text DATE '2026-11-21' or CAST(text AS DATE)"
                );
            }
        }
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [from, to] = args.args.as_slice() else {
            return exec_err!("months_elapsed takes two dates: from and to");
        };
        let n = args.number_rows;
        let dates = |v: &ColumnarValue| -> DfResult<Date32Array> {
            let a = cast(&v.to_array(n)?, &DataType::Date32)?;
            Ok(a.as_any()
                .downcast_ref::<Date32Array>()
                .expect("cast to Date32 yields a Date32Array")
                .clone())
        };
        let (a, b) = (dates(from)?, dates(to)?);
        let out: Int64Array = (0..n)
            .map(|i| match (a.value_as_date(i), b.value_as_date(i)) {
                (Some(x), Some(y)) if a.is_valid(i) && b.is_valid(i) => Some(months_elapsed(x, y)),
                _ => None,
            })
            .collect();
        let out: ArrayRef = Arc::new(out);
        match (from, to) {
            (ColumnarValue::Scalar(_), ColumnarValue::Scalar(_)) => {
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
            }
            _ => Ok(ColumnarValue::Array(out)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> chrono::NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn whole_months_as_postgres_age_counts_them() {
        // Postgres: SELECT date_part('year', age(b, a)) * 12 + date_part('month', age(b, a)).
        for (a, b, want) in [
            ("2026-06-10", "2026-07-09", 0),
            ("2026-06-10", "2026-07-10", 1),
            ("2026-05-15", "2026-11-22", 6),
            ("2026-05-31", "2026-11-22", 5),
            ("2026-01-31", "2026-02-28", 0),
            ("2026-01-31", "2026-03-01", 1),
            ("2025-12-20", "2026-01-20", 1),
            ("2026-06-10", "2026-06-10", 0),
        ] {
            assert_eq!(months_elapsed(d(a), d(b)), want, "{a} -> {b}");
        }
        // Backwards, negated (Postgres: age('2026-06-05', '2026-06-10') is -5 days).
        assert_eq!(months_elapsed(d("2026-06-10"), d("2026-06-05")), 0);
        assert_eq!(months_elapsed(d("2026-06-10"), d("2026-05-10")), -1);
        assert_eq!(months_elapsed(d("2026-03-01"), d("2026-01-31")), -1);
    }
}
