//! How one declared source column is read from one landed file.
//!
//! Files come from pandas/pyarrow, Spark, JDBC exports and Excel, each with its own habits. The
//! rules, applied the same way at preflight (where a refusal names file and column before
//! anything runs) and while a stage reads the file (see [`super::source_table`]):
//!
//! - **Names.** A declared column matches the file column of the same name; failing that, the
//!   one that equals it ignoring case and surrounding whitespace (`ORDER_ID`, `" order_id "`).
//!   Two file columns that differ only in case are ambiguous and refused, naming both.
//! - **Missing columns** read as NULL, except the source's `key` columns: a file without one is
//!   refused.
//! - **Types.** Same type: read as is. Arrow `null` (pandas' all-empty column): NULLs of the
//!   declared type. Other string encodings (large, view, dictionary, binary): read as strings.
//!   Integers, floats, decimals and dates are widened when that is lossless; a narrowing whose
//!   values might not fit (`int64` declared `int`, a decimal with more integer digits) is
//!   allowed only when the file's statistics prove every value fits, and a decimal with more
//!   scale than declared is refused, never rounded.
//! - **Timestamps.** A zoned timestamp of any unit (s, ms, us, ns) reads as the same instant.
//!   A timestamp without a zone (including INT96) is read in the source's `naive_timestamps`
//!   zone; without that key it is refused, never taken as UTC silently.

use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// How a declared column is read from one file.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnRead {
    /// The file column `name` (at `index`), converted to the declared type when its type
    /// differs.
    Column {
        index: usize,
        name: String,
        /// The file's type when it differs from the declared one.
        cast_from: Option<DataType>,
        /// The conversion may overflow for some values; the file's statistics must prove it
        /// does not (checked at preflight).
        narrowing: bool,
        /// For timestamps without a zone: the zone they are read in.
        zone: Option<String>,
    },
    /// NULLs of the declared type: the column is missing, or has Arrow type `null`.
    Null { null_typed: bool },
}

/// Why a file cannot be read as declared.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// A key column without a single value in the file.
    EmptyKey {
        column: String,
    },
    /// A wall-clock time that happens twice or never in the declared zone.
    AmbiguousLocalTime {
        column: String,
        value: String,
        zone: String,
        why: String,
    },
    /// Several file columns match one declared column ignoring case.
    Ambiguous {
        column: String,
        found: Vec<String>,
    },
    MissingKey {
        column: String,
    },
    /// A timestamp without a time zone and no `naive_timestamps` key.
    NaiveTimestamp {
        column: String,
        found: String,
    },
    /// A conversion that would lose digits.
    Lossy {
        column: String,
        found: String,
        expected: String,
        reason: String,
    },
    /// Types that do not convert.
    Incompatible {
        column: String,
        found: String,
        expected: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Ambiguous { column, found } => write!(
                f,
                "columns {} differ only in case; declared column `{column}` cannot choose",
                found
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            Refusal::MissingKey { column } => {
                write!(f, "key column `{column}` is missing")
            }
            Refusal::AmbiguousLocalTime {
                column,
                value,
                zone,
                why,
            } => write!(
                f,
                "column `{column}` holds the wall-clock time {value}, which {why} in {zone}: it names no single instant"
            ),
            Refusal::EmptyKey { column } => write!(
                f,
                "key column `{column}` holds no value at all (every record of the file would be rejected)"
            ),
            Refusal::NaiveTimestamp { column, found } => write!(
                f,
                "column `{column}` holds timestamps without a time zone ({found}); strata does not guess their zone"
            ),
            Refusal::Lossy {
                column,
                found,
                expected,
                reason,
            } => write!(
                f,
                "column `{column}` is {found}, declared {expected}: {reason}"
            ),
            Refusal::Incompatible {
                column,
                found,
                expected,
            } => write!(f, "column `{column}` has type {found}, expected {expected}"),
        }
    }
}

impl Refusal {
    /// What the user can change to read the file.
    pub fn hint(&self, source: &str) -> String {
        match self {
            Refusal::Ambiguous { .. } => {
                "rewrite the file with one spelling of the column".to_string()
            }
            Refusal::MissingKey { column } | Refusal::EmptyKey { column } => format!(
                "land the file with `{column}` filled in, or remove `{column}` from `key` of source `{source}` if it may be absent"
            ),
            Refusal::NaiveTimestamp { .. } => format!(
                "declare the zone the file's timestamps are written in, for example `naive_timestamps: Asia/Shanghai` (or `UTC`) on source `{source}`"
            ),
            Refusal::AmbiguousLocalTime { .. } => format!(
                "land the file with zoned timestamps (UTC instants), or fix the value; `naive_timestamps` of source `{source}` names the zone"
            ),
            Refusal::Lossy { .. } | Refusal::Incompatible { .. } => format!(
                "declare the column with the file's type in `columns` of source `{source}`, or land the file with the declared type"
            ),
        }
    }
}

/// A name as compared across writers: surrounding whitespace removed, lower case.
pub fn fold(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Find the file column for `declared`: the exact name, else the one equal to it ignoring
/// case and surrounding whitespace. Two file columns that fold alike are ambiguous.
pub fn find_column(declared: &str, physical: &Schema) -> Result<Option<usize>, Refusal> {
    let want = fold(declared);
    let matches: Vec<usize> = physical
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| fold(f.name()) == want)
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(Refusal::Ambiguous {
            column: declared.to_string(),
            found: many
                .iter()
                .map(|i| physical.field(*i).name().clone())
                .collect(),
        }),
    }
}

/// Decide how `declared` is read from a file with schema `physical`.
pub fn plan_column(
    declared: &Field,
    physical: &Schema,
    is_key: bool,
    zone: Option<&str>,
) -> Result<ColumnRead, Refusal> {
    let column = declared.name().clone();
    let Some(index) = find_column(&column, physical)? else {
        return if is_key {
            Err(Refusal::MissingKey { column })
        } else {
            Ok(ColumnRead::Null { null_typed: false })
        };
    };
    let field = physical.field(index);
    let want = declared.data_type();
    // A dictionary (pandas' categorical) is read as its values.
    let found = match field.data_type() {
        DataType::Dictionary(_, values) => values.as_ref(),
        other => other,
    };
    if found == &DataType::Null {
        // pandas writes a column without a single value as Arrow `null`: for a key that means a
        // file of records without keys, which is refused like a missing key column.
        return if is_key {
            Err(Refusal::EmptyKey { column })
        } else {
            Ok(ColumnRead::Null { null_typed: true })
        };
    }
    let read = |narrowing: bool, zone: Option<String>| ColumnRead::Column {
        index,
        name: field.name().clone(),
        cast_from: (want != field.data_type()).then(|| field.data_type().clone()),
        narrowing,
        zone,
    };
    let lossy = |reason: &str| Refusal::Lossy {
        column: column.clone(),
        found: found.to_string(),
        expected: want.to_string(),
        reason: reason.to_string(),
    };
    let incompatible = || Refusal::Incompatible {
        column: column.clone(),
        found: found.to_string(),
        expected: want.to_string(),
    };
    if want == field.data_type() || want == found {
        return Ok(read(false, None));
    }
    match (want, found) {
        (DataType::Timestamp(_, Some(_)), DataType::Timestamp(_, Some(_))) => Ok(read(false, None)),
        (DataType::Timestamp(_, Some(_)), DataType::Timestamp(_, None)) => match zone {
            Some(z) => Ok(read(false, Some(z.to_string()))),
            None => Err(Refusal::NaiveTimestamp {
                column,
                found: found.to_string(),
            }),
        },
        (DataType::Timestamp(_, None), DataType::Timestamp(_, None)) => Ok(read(false, None)),
        _ if is_text(want) && is_text(found) => Ok(read(false, None)),
        (DataType::Date32, DataType::Date64) => Ok(read(false, None)),
        (DataType::Float64, DataType::Float16 | DataType::Float32) => Ok(read(false, None)),
        _ if int_digits(want).is_some() && int_digits(found).is_some() => {
            Ok(read(!int_fits(found, want), None))
        }
        _ if decimal(want).is_some()
            && (decimal(found).is_some() || int_digits(found).is_some()) =>
        {
            let (wp, ws) = decimal(want).expect("checked");
            let (fp, fs) =
                decimal(found).unwrap_or_else(|| (int_digits(found).expect("checked"), 0));
            if fs > ws {
                return Err(lossy(&format!(
                    "{fs} decimal places do not fit in {ws}; strata does not round"
                )));
            }
            // Integer digits: the file's precision minus its scale.
            Ok(read(fp as i32 - fs as i32 > wp as i32 - ws as i32, None))
        }
        _ => Err(incompatible()),
    }
}

fn is_text(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => true,
        DataType::Dictionary(_, v) => is_text(v),
        _ => false,
    }
}

/// Decimal digits an integer type can hold, signed or not.
fn int_digits(t: &DataType) -> Option<u8> {
    Some(match t {
        DataType::Int8 | DataType::UInt8 => 3,
        DataType::Int16 | DataType::UInt16 => 5,
        DataType::Int32 | DataType::UInt32 => 10,
        DataType::Int64 => 19,
        DataType::UInt64 => 20,
        _ => return None,
    })
}

/// Does every value of integer type `from` fit in integer type `to`?
fn int_fits(from: &DataType, to: &DataType) -> bool {
    use DataType::*;
    let range = |t: &DataType| -> (i128, i128) {
        match t {
            Int8 => (i8::MIN as i128, i8::MAX as i128),
            Int16 => (i16::MIN as i128, i16::MAX as i128),
            Int32 => (i32::MIN as i128, i32::MAX as i128),
            Int64 => (i64::MIN as i128, i64::MAX as i128),
            UInt8 => (0, u8::MAX as i128),
            UInt16 => (0, u16::MAX as i128),
            UInt32 => (0, u32::MAX as i128),
            _ => (0, u64::MAX as i128),
        }
    };
    let (a, b) = (range(from), range(to));
    a.0 >= b.0 && a.1 <= b.1
}

fn decimal(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => Some((*p, *s)),
        _ => None,
    }
}

/// Whether a read is worth a line in the run record (string encodings are not).
pub fn notable(read: &ColumnRead, declared: &str) -> Option<(String, String)> {
    match read {
        ColumnRead::Null { null_typed: true } => Some((
            "column has Arrow type null (an all-empty column)".into(),
            "read as NULL".into(),
        )),
        ColumnRead::Null { null_typed: false } => {
            Some(("column is missing".into(), "read as NULL".into()))
        }
        ColumnRead::Column {
            name,
            cast_from,
            zone,
            ..
        } => {
            if let Some(z) = zone {
                return Some((
                    "timestamps without a time zone".into(),
                    format!("read as local time in {z}"),
                ));
            }
            if name != declared {
                return Some((
                    format!("file column is named `{name}`"),
                    format!("read as `{declared}`"),
                ));
            }
            match cast_from {
                Some(t) if !is_text(t) => Some((
                    format!("file type is {t}"),
                    "converted to the declared type".into(),
                )),
                _ => None,
            }
        }
    }
}

/// The declared column's unit of time, for messages.
pub fn unit_name(unit: &TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Second => "s",
        TimeUnit::Millisecond => "ms",
        TimeUnit::Microsecond => "us",
        TimeUnit::Nanosecond => "ns",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(fields: &[(&str, DataType)]) -> Schema {
        Schema::new(
            fields
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        )
    }

    fn utc() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }

    #[test]
    fn names_match_ignoring_case_and_whitespace() {
        let s = schema(&[(" ORDER_ID ", DataType::Utf8)]);
        let f = Field::new("order_id", DataType::Utf8, true);
        assert!(matches!(
            plan_column(&f, &s, true, None),
            Ok(ColumnRead::Column { index: 0, .. })
        ));
        let two = schema(&[("order_id", DataType::Utf8), ("Order_Id", DataType::Utf8)]);
        let err = plan_column(&f, &two, false, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "columns `order_id` and `Order_Id` differ only in case; declared column `order_id` cannot choose"
        );
    }

    #[test]
    fn missing_keys_are_refused_and_other_columns_read_null() {
        let s = schema(&[("x", DataType::Utf8)]);
        let key = Field::new("order_id", DataType::Utf8, true);
        assert_eq!(
            plan_column(&key, &s, true, None),
            Err(Refusal::MissingKey {
                column: "order_id".into()
            })
        );
        assert_eq!(
            plan_column(&key, &s, false, None),
            Ok(ColumnRead::Null { null_typed: false })
        );
    }

    #[test]
    fn naive_timestamps_need_a_zone() {
        let s = schema(&[("t", DataType::Timestamp(TimeUnit::Nanosecond, None))]);
        let f = Field::new("t", utc(), true);
        assert!(matches!(
            plan_column(&f, &s, false, None),
            Err(Refusal::NaiveTimestamp { .. })
        ));
        assert!(matches!(
            plan_column(&f, &s, false, Some("Asia/Shanghai")),
            Ok(ColumnRead::Column { zone: Some(z), .. }) if z == "Asia/Shanghai"
        ));
        let zoned = schema(&[(
            "t",
            DataType::Timestamp(TimeUnit::Millisecond, Some("+08:00".into())),
        )]);
        assert!(matches!(
            plan_column(&f, &zoned, false, None),
            Ok(ColumnRead::Column { zone: None, .. })
        ));
    }

    #[test]
    fn widening_is_free_and_narrowing_needs_proof() {
        let f = Field::new("n", DataType::Int64, true);
        let s = schema(&[("n", DataType::Int32)]);
        assert!(matches!(
            plan_column(&f, &s, false, None),
            Ok(ColumnRead::Column {
                narrowing: false,
                ..
            })
        ));
        let f32 = Field::new("n", DataType::Int32, true);
        let s64 = schema(&[("n", DataType::Int64)]);
        assert!(matches!(
            plan_column(&f32, &s64, false, None),
            Ok(ColumnRead::Column {
                narrowing: true,
                ..
            })
        ));
        let dec = Field::new("a", DataType::Decimal128(18, 2), true);
        let more_scale = schema(&[("a", DataType::Decimal128(18, 4))]);
        assert!(matches!(
            plan_column(&dec, &more_scale, false, None),
            Err(Refusal::Lossy { .. })
        ));
        let wider = schema(&[("a", DataType::Decimal128(10, 1))]);
        assert!(matches!(
            plan_column(&dec, &wider, false, None),
            Ok(ColumnRead::Column {
                narrowing: false,
                ..
            })
        ));
        let float = schema(&[("a", DataType::Float64)]);
        assert!(matches!(
            plan_column(&dec, &float, false, None),
            Err(Refusal::Incompatible { .. })
        ));
    }

    #[test]
    fn null_typed_columns_read_as_null() {
        let s = schema(&[("email", DataType::Null)]);
        let f = Field::new("email", DataType::Utf8, true);
        assert_eq!(
            plan_column(&f, &s, false, None),
            Ok(ColumnRead::Null { null_typed: true })
        );
    }
}
