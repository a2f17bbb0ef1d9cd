//! Scalar functions that stage SQL may call.
//!
//! | function | result |
//! |---|---|
//! | `intent(text)` | first label of the pipeline's `intents` dictionary whose keyword occurs in `text` (case-insensitive), else the default label |
//! | `normalize_phone(text)` | E.164 `+86...` for Chinese mobiles and landlines, NULL when no usable number (see [`super::normalize`]) |
//! | `normalize_email(text)` | the bare address, lower case, NULL when not an address |
//! | `normalize_company(text)` | a company name reduced for matching: widths folded, traditional characters simplified, spaces and brackets removed, legal forms removed, branch words written 分公司, Latin letters upper case |
//! | `mask_phone(text)` | `138****8000` |
//! | `mask_email(text)` | `z***@example.com` |
//! | `mask_name(text)` | `张*` |
//! | `business_date(ts)` | the calendar date of a timestamp in the pipeline's business time zone (`DATE`) |
//! | `pii_hash(text)` | hex HMAC-SHA256 keyed with the environment variable named by `pii.hash_key_env` |
//! | `nonblank(text)`, `normalize_label(text)`, `parse_score(text)` | see [`super::udf_values`] |
//! | `months_elapsed(from, to)` | whole calendar months between two dates (BIGINT); see [`super::udf_months`] |
//!
//! [`register_all`] also replaces DataFusion's `first_value`/`last_value` aggregates by
//! [`super::first_last`]'s (same results, a grouped accumulator linear in each batch).
//!
//! The string functions take and return strings and map NULL to NULL (except `intent`, which maps NULL to the
//! default label).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result as DfResult, ScalarValue, exec_err};
use datafusion::logical_expr::{
    AggregateUDF, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;
use hmac::{Hmac, Mac};

use crate::model::identity::IdentityConfig;
use crate::model::{IntentDictionary, PiiConfig, Pipeline};

pub use super::normalize::{fold_width, normalize_company, normalize_email, normalize_phone};

type StrFn = dyn Fn(&str) -> DfResult<Option<String>> + Send + Sync;

/// A one-argument string function. `identity` distinguishes configured instances (for example
/// two intent dictionaries) for DataFusion's plan equality.
struct StringFn {
    name: &'static str,
    identity: String,
    signature: Signature,
    on_null: Option<String>,
    f: Arc<StrFn>,
}

impl fmt::Debug for StringFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StringFn")
            .field("name", &self.name)
            .finish()
    }
}

impl PartialEq for StringFn {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.identity == other.identity
    }
}
impl Eq for StringFn {}
impl Hash for StringFn {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.identity.hash(state);
    }
}

impl StringFn {
    fn udf(
        name: &'static str,
        identity: String,
        on_null: Option<String>,
        f: impl Fn(&str) -> DfResult<Option<String>> + Send + Sync + 'static,
    ) -> ScalarUDF {
        ScalarUDF::new_from_impl(StringFn {
            name,
            identity,
            signature: Signature::string(1, Volatility::Immutable),
            on_null,
            f: Arc::new(f),
        })
    }
}

impl ScalarUDFImpl for StringFn {
    fn name(&self) -> &str {
        self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("{} takes one argument", self.name);
        };
        match arg {
            ColumnarValue::Scalar(s) => {
                let text = match s {
                    ScalarValue::Utf8(v) | ScalarValue::Utf8View(v) | ScalarValue::LargeUtf8(v) => {
                        v.clone()
                    }
                    ScalarValue::Null => None,
                    other => return exec_err!("{} expects a string, got {other:?}", self.name),
                };
                let out = match text {
                    Some(t) => (self.f)(&t)?,
                    None => self.on_null.clone(),
                };
                Ok(ColumnarValue::Scalar(ScalarValue::Utf8(out)))
            }
            ColumnarValue::Array(array) => {
                let strings = cast(array, &DataType::Utf8)?;
                let strings = strings
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .expect("cast to Utf8 yields a StringArray");
                let mut out: Vec<Option<String>> = Vec::with_capacity(strings.len());
                for v in strings.iter() {
                    out.push(match v {
                        Some(t) => (self.f)(t)?,
                        None => self.on_null.clone(),
                    });
                }
                Ok(ColumnarValue::Array(
                    Arc::new(StringArray::from(out)) as ArrayRef
                ))
            }
        }
    }
}

/// `business_date(ts)`: the date of an instant in the business time zone.
#[derive(Debug, PartialEq, Eq, Hash)]
struct BusinessDate {
    tz: chrono_tz::Tz,
    signature: Signature,
}

impl ScalarUDFImpl for BusinessDate {
    fn name(&self) -> &str {
        "business_date"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [arg] = args.args.as_slice() else {
            return exec_err!("business_date takes one argument");
        };
        let utc = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let array = arg.to_array(args.number_rows)?;
        let micros = cast(&array, &utc)?;
        let micros = micros
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .expect("cast to Timestamp(us) yields a TimestampMicrosecondArray");
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        let dates: Date32Array = micros
            .iter()
            .map(|v| {
                v.and_then(chrono::DateTime::from_timestamp_micros)
                    .map(|t| (t.with_timezone(&self.tz).date_naive() - epoch).num_days() as i32)
            })
            .collect();
        let out: ArrayRef = Arc::new(dates);
        match arg {
            ColumnarValue::Scalar(_) => {
                Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
            }
            ColumnarValue::Array(_) => Ok(ColumnarValue::Array(out)),
        }
    }
}

/// Register every strata function in `ctx`, configured by `pipeline`.
pub fn register_all(ctx: &SessionContext, pipeline: &Pipeline) {
    let settings = FunctionSettings::of(pipeline);
    for f in aggregate_functions(&settings) {
        ctx.register_udaf(f);
    }
    for f in scalar_functions(&settings) {
        ctx.register_udf(f);
    }
    super::first_last::register(ctx);
}

/// The pipeline settings strata's functions depend on: the identity rules, the business time
/// zone, the intent dictionary and the name of the variable holding the personal-data key (never
/// the key itself). A Ballista cluster receives them with each plan that calls a function, so a
/// scheduler or executor rebuilds the functions exactly as the client configured them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FunctionSettings {
    pub identity: IdentityConfig,
    /// An IANA zone name, e.g. `Asia/Shanghai`.
    pub timezone: String,
    pub intents: IntentDictionary,
    pub pii: PiiConfig,
}

impl FunctionSettings {
    /// Built-in defaults (UTC), the base a cluster node fills with a function's own settings.
    fn neutral() -> Self {
        Self {
            identity: IdentityConfig::default(),
            timezone: "UTC".to_string(),
            intents: IntentDictionary::default(),
            pii: PiiConfig::default(),
        }
    }

    /// The settings of `pipeline`.
    pub fn of(pipeline: &Pipeline) -> Self {
        Self {
            identity: pipeline.identity.clone(),
            timezone: pipeline.timezone.name().to_string(),
            intents: pipeline.intents.clone(),
            pii: pipeline.pii.clone(),
        }
    }
}

/// strata's aggregate functions (identity resolution).
pub fn aggregate_functions(settings: &FunctionSettings) -> Vec<AggregateUDF> {
    vec![AggregateUDF::new_from_impl(
        super::identity::udaf::ResolveIdentity::new(settings.identity.clone()),
    )]
}

/// strata's scalar functions (the table in this module's documentation). An unknown time zone
/// name (possible only in settings received over the wire) falls back to UTC for
/// `business_date`; the client validated the pipeline's zone when it parsed the file.
pub fn scalar_functions(settings: &FunctionSettings) -> Vec<ScalarUDF> {
    let tz = settings
        .timezone
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::UTC);
    let dict = settings.intents.clone();
    // The dictionary as JSON: the function's identity, and what a cluster node rebuilds it from.
    let identity = serde_json::to_string(&dict).expect("an intent dictionary serializes");
    let default_label = dict.default_label.clone();
    let key_env = settings.pii.hash_key_env.clone();
    vec![
        ScalarUDF::new_from_impl(BusinessDate {
            tz,
            signature: Signature::any(1, Volatility::Immutable),
        }),
        StringFn::udf("intent", identity, Some(default_label), move |t| {
            Ok(Some(classify_intent(&dict, t)))
        }),
        StringFn::udf("normalize_phone", String::new(), None, |t| {
            Ok(normalize_phone(t))
        }),
        StringFn::udf("normalize_email", String::new(), None, |t| {
            Ok(normalize_email(t))
        }),
        StringFn::udf("normalize_company", String::new(), None, |t| {
            Ok(normalize_company(t))
        }),
        StringFn::udf("mask_phone", String::new(), None, |t| {
            Ok(Some(mask_phone(t)))
        }),
        StringFn::udf("mask_email", String::new(), None, |t| {
            Ok(Some(mask_email(t)))
        }),
        StringFn::udf("mask_name", String::new(), None, |t| Ok(Some(mask_name(t)))),
        StringFn::udf("nonblank", String::new(), None, |t| {
            Ok(super::udf_values::nonblank(t).map(str::to_string))
        }),
        StringFn::udf("normalize_label", String::new(), None, |t| {
            Ok(super::udf_values::normalize_label(t))
        }),
        ScalarUDF::new_from_impl(super::udf_values::ParseScore::new()),
        ScalarUDF::new_from_impl(super::udf_months::MonthsElapsed::new()),
        ScalarUDF::new_from_impl(super::udf_values::IsPersonName::new()),
        StringFn::udf("pii_hash", key_env.clone(), None, move |t| {
            let Ok(key) = std::env::var(&key_env) else {
                return exec_err!(
                    "pii_hash needs its key in the environment variable {key_env}, which is not set"
                );
            };
            Ok(Some(keyed_hash(key.as_bytes(), t)))
        }),
    ]
}

/// What a strata scalar function carries in a plan sent to a Ballista cluster, so that a node
/// rebuilds it as the client configured it ([`scalar_from_wire`]): the intent dictionary as JSON
/// for `intent`, the zone name for `business_date`, the key variable's name (never the key) for
/// `pii_hash`, nothing for the others. `None` for a function that is not strata's.
pub fn scalar_wire_config(udf: &ScalarUDF) -> Option<String> {
    let inner = udf.inner();
    if let Some(f) = inner.downcast_ref::<StringFn>() {
        return Some(f.identity.clone());
    }
    if let Some(f) = inner.downcast_ref::<BusinessDate>() {
        return Some(f.tz.name().to_string());
    }
    let plain = inner
        .downcast_ref::<super::udf_values::ParseScore>()
        .is_some()
        || inner
            .downcast_ref::<super::udf_months::MonthsElapsed>()
            .is_some()
        || inner
            .downcast_ref::<super::udf_values::IsPersonName>()
            .is_some();
    plain.then(String::new)
}

/// The strata scalar function `name` configured by `config` (from [`scalar_wire_config`]).
/// Errors name the function when it is unknown or its configuration does not parse.
pub fn scalar_from_wire(name: &str, config: &str) -> std::result::Result<ScalarUDF, String> {
    let mut settings = FunctionSettings::neutral();
    match name {
        "intent" => {
            settings.intents = serde_json::from_str(config)
                .map_err(|e| format!("intent dictionary of `intent`: {e}"))?;
        }
        "business_date" => {
            config
                .parse::<chrono_tz::Tz>()
                .map_err(|e| format!("time zone of `business_date`: {e}"))?;
            settings.timezone = config.to_string();
        }
        "pii_hash" => settings.pii.hash_key_env = config.to_string(),
        _ => {}
    }
    scalar_functions(&settings)
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| format!("`{name}` is not a strata function"))
}

/// The identity rules `resolve_identity` carries in a plan sent to a cluster, as JSON; `None`
/// for an aggregate that is not strata's.
pub fn aggregate_wire_config(udaf: &AggregateUDF) -> Option<String> {
    let f = udaf
        .inner()
        .downcast_ref::<super::identity::udaf::ResolveIdentity>()?;
    Some(serde_json::to_string(f.config()).expect("identity rules serialize"))
}

/// The strata aggregate `name` configured by `config` (from [`aggregate_wire_config`]).
pub fn aggregate_from_wire(name: &str, config: &str) -> std::result::Result<AggregateUDF, String> {
    let mut settings = FunctionSettings::neutral();
    settings.identity =
        serde_json::from_str(config).map_err(|e| format!("identity rules of `{name}`: {e}"))?;
    aggregate_functions(&settings)
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| format!("`{name}` is not a strata aggregate"))
}

/// The intent label of `text`: first label in dictionary order with a matching keyword.
pub fn classify_intent(dict: &IntentDictionary, text: &str) -> String {
    let lower = text.to_lowercase();
    dict.labels
        .iter()
        .find(|(_, words)| words.iter().any(|w| lower.contains(&w.to_lowercase())))
        .map(|(label, _)| label.clone())
        .unwrap_or_else(|| dict.default_label.clone())
}

/// `138****8000`: first three and last four digits of the national number.
pub fn mask_phone(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let national = if text.trim_start().starts_with('+') {
        digits.strip_prefix("86").unwrap_or(&digits).to_string()
    } else {
        digits
    };
    let n = national.chars().count();
    if n <= 7 {
        return "*".repeat(n.max(1));
    }
    format!("{}****{}", &national[..3], &national[n - 4..])
}

/// `z***@example.com`.
pub fn mask_email(text: &str) -> String {
    let t = text.trim();
    match t.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// `张*`: the first character, then one `*` per remaining character (at least one).
pub fn mask_name(text: &str) -> String {
    let t = text.trim();
    let mut chars = t.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => "*".to_string(),
    }
}

/// Hex HMAC-SHA256 of `text` under `key`.
pub fn keyed_hash(key: &[u8], text: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any size");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("+8613800138000"), "138****8000");
        assert_eq!(mask_email("zhang@example.com"), "z***@example.com");
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
    }

    #[test]
    fn intent_first_match_in_dictionary_order() {
        let d = IntentDictionary::default();
        assert_eq!(classify_intent(&d, "请问这个功能多少钱"), "价格");
        assert_eq!(classify_intent(&d, "需要api集成"), "技术");
        assert_eq!(classify_intent(&d, "培训安排"), "服务");
        assert_eq!(classify_intent(&d, "你好"), "其他");
    }

    #[test]
    fn keyed_hash_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        assert_eq!(
            keyed_hash(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
