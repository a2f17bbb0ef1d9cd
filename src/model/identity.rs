//! The `identity` section of a pipeline file: how customer records become one customer.
//!
//! ```yaml
//! identity:
//!   max_records_per_key: 8
//!   placeholders:
//!     phones: ["13900000000"]
//!     emails: ["info@", "@mailinator.com", "nobody@corp.cn"]
//!     names: [暂无名称]
//! ```
//!
//! The lists extend the built-in ones of the engine (placeholder phones and e-mails, junk names,
//! default nicknames); nothing here can switch a built-in entry off. Values are compared after
//! the same normalization as the match keys.

use super::reader::Cx;
use super::sections::positive_int;
use super::yaml::Node;

const IDENTITY_KEYS: &[&str] = &["max_records_per_key", "placeholders"];
const PLACEHOLDER_KEYS: &[&str] = &["phones", "emails", "names"];

/// Default of `identity.max_records_per_key`.
pub const DEFAULT_MAX_RECORDS_PER_KEY: usize = 8;

/// Identity resolution settings (the pipeline's additions to the built-in rules).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct IdentityConfig {
    /// A phone or e-mail held by more records than this is not used for linking when those
    /// records' other attributes disagree (see `engine::identity::guard::disagree`).
    pub max_records_per_key: usize,
    /// Extra placeholder phones, as written (normalized before comparing).
    pub placeholder_phones: Vec<String>,
    /// Extra placeholder e-mails: `a@b.c` (exactly), `@b.c` (any mailbox of the domain) or
    /// `a@` (that mailbox at any domain).
    pub placeholder_emails: Vec<String>,
    /// Extra junk company or display names, as written (normalized before comparing).
    pub placeholder_names: Vec<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            max_records_per_key: DEFAULT_MAX_RECORDS_PER_KEY,
            placeholder_phones: Vec::new(),
            placeholder_emails: Vec::new(),
            placeholder_names: Vec::new(),
        }
    }
}

pub(super) fn read_identity(cx: &mut Cx, node: Option<&Node>) -> Option<IdentityConfig> {
    let mut cfg = IdentityConfig::default();
    let Some(node) = node else { return Some(cfg) };
    let map = cx.map(node, "identity", "`identity`", IDENTITY_KEYS)?;
    if let Some(n) = map.get("max_records_per_key") {
        cfg.max_records_per_key = positive_int(cx, "max_records_per_key", n)?;
    }
    if let Some(p) = map.get("placeholders") {
        let lists = cx.map(
            p,
            "placeholders",
            "`identity.placeholders`",
            PLACEHOLDER_KEYS,
        )?;
        let mut read = |key: &str| -> Vec<String> {
            lists
                .get(key)
                .map(|n| cx.strings(key, n).into_iter().map(|(s, _)| s).collect())
                .unwrap_or_default()
        };
        cfg.placeholder_phones = read("phones");
        cfg.placeholder_emails = read("emails");
        cfg.placeholder_names = read("names");
    }
    Some(cfg)
}
