//! Scalar types of the pipeline format: column types, typed variables, byte sizes.
//!
//! Parsing functions return `Err(reason)` with a short human reason; the loader attaches the
//! location.

use chrono::NaiveDate;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;

/// A typed variable value. The type of a variable is the type of its default.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum VarValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
}

impl VarValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            VarValue::Str(_) => "string",
            VarValue::Int(_) => "int",
            VarValue::Float(_) => "float",
            VarValue::Bool(_) => "bool",
            VarValue::Date(_) => "date",
        }
    }

    /// Parse `text` as a value of the same type as `self` (used for `--var name=value`).
    pub fn parse_like(&self, text: &str) -> Result<VarValue, String> {
        let t = text.trim();
        match self {
            VarValue::Str(_) => Ok(VarValue::Str(text.to_string())),
            VarValue::Int(_) => t
                .parse::<i64>()
                .map(VarValue::Int)
                .map_err(|_| "expected an integer".to_string()),
            VarValue::Float(_) => t
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(VarValue::Float)
                .ok_or_else(|| "expected a finite number".to_string()),
            VarValue::Bool(_) => match t {
                "true" => Ok(VarValue::Bool(true)),
                "false" => Ok(VarValue::Bool(false)),
                _ => Err("expected `true` or `false`".to_string()),
            },
            VarValue::Date(_) => parse_date(t).map(VarValue::Date),
        }
    }

    /// The value as a DataFusion parameter.
    pub fn to_scalar(&self) -> ScalarValue {
        match self {
            VarValue::Str(s) => ScalarValue::Utf8(Some(s.clone())),
            VarValue::Int(i) => ScalarValue::Int64(Some(*i)),
            VarValue::Float(f) => ScalarValue::Float64(Some(*f)),
            VarValue::Bool(b) => ScalarValue::Boolean(Some(*b)),
            VarValue::Date(d) => date_scalar(*d),
        }
    }
}

impl std::fmt::Display for VarValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarValue::Str(s) => f.write_str(s),
            VarValue::Int(i) => write!(f, "{i}"),
            VarValue::Float(x) => write!(f, "{x}"),
            VarValue::Bool(b) => write!(f, "{b}"),
            VarValue::Date(d) => write!(f, "{d}"),
        }
    }
}

/// A `DATE` scalar for a calendar date.
pub fn date_scalar(d: NaiveDate) -> ScalarValue {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("1970-01-01 is a valid date");
    ScalarValue::Date32(Some((d - epoch).num_days() as i32))
}

/// Parse a strict `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let ok_shape = text.len() == 10
        && text.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !ok_shape {
        return Err("expected a date as YYYY-MM-DD".to_string());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "no such calendar date".to_string())
}

/// A column type as pipeline files spell it (`date`, `decimal(18,2)`), or Arrow's name.
pub fn column_type_name(dt: &DataType) -> String {
    match dt {
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => "string".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float64 => "double".into(),
        DataType::Boolean => "bool".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if tz.as_ref() == "UTC" => {
            "timestamp".into()
        }
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        other => other.to_string(),
    }
}

/// Parse a column type name as written in pipeline files.
pub fn parse_column_type(text: &str) -> Result<DataType, String> {
    let t = text.trim().to_ascii_lowercase();
    let simple = match t.as_str() {
        "string" | "utf8" | "text" | "varchar" => Some(DataType::Utf8),
        "int" | "int32" | "integer" => Some(DataType::Int32),
        "bigint" | "int64" | "long" => Some(DataType::Int64),
        "double" | "float64" | "float" => Some(DataType::Float64),
        "bool" | "boolean" => Some(DataType::Boolean),
        "date" => Some(DataType::Date32),
        "timestamp" => Some(DataType::Timestamp(
            TimeUnit::Microsecond,
            Some("UTC".into()),
        )),
        _ => None,
    };
    if let Some(dt) = simple {
        return Ok(dt);
    }
    if let Some(args) = t.strip_prefix("decimal(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = args.split(',').map(str::trim);
        let p = parts.next().and_then(|p| p.parse::<u8>().ok());
        let s = parts.next().and_then(|s| s.parse::<i8>().ok());
        if let (Some(p), Some(s), None) = (p, s, parts.next())
            && (1..=38).contains(&p)
            && s >= 0
            && (s as u8) <= p
        {
            return Ok(DataType::Decimal128(p, s));
        }
        return Err("decimal needs a precision 1..38 and a scale 0..precision".to_string());
    }
    Err(
        "expected one of string, int, bigint, double, bool, date, timestamp, decimal(p,s)"
            .to_string(),
    )
}

/// Parse a byte size such as `4GB`, `512MiB`, `1073741824`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| "expected a size such as 4GB or 512MB".to_string())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err("unknown unit; use B, KB, MB, GB or TB".to_string()),
    };
    let bytes = n * mult as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err("size out of range".to_string());
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2026-11-21").is_ok());
        assert!(parse_date("2026-2-1").is_err());
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("2026-11-21'; DROP").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("4GB").unwrap(), 4 << 30);
        assert_eq!(parse_bytes("256 MB").unwrap(), 256 << 20);
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("0").is_err());
    }

    #[test]
    fn column_types() {
        assert_eq!(
            parse_column_type("decimal(18,2)").unwrap(),
            DataType::Decimal128(18, 2)
        );
        assert_eq!(parse_column_type("STRING").unwrap(), DataType::Utf8);
        assert!(parse_column_type("decimal(40,2)").is_err());
        assert!(parse_column_type("blob").is_err());
    }

    #[test]
    fn vars_parse_like_their_default() {
        let v = VarValue::Int(3);
        assert_eq!(v.parse_like("12").unwrap(), VarValue::Int(12));
        assert!(v.parse_like("12.5").is_err());
        let s = VarValue::Str(String::new());
        assert_eq!(
            s.parse_like("'; DROP TABLE x; --").unwrap(),
            VarValue::Str("'; DROP TABLE x; --".into())
        );
    }
}
