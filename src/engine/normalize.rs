//! Normalization of the identifiers that match customer records (DOMAIN.md, "Identity
//! resolution"): phones, e-mails and company names. Two spellings of one identifier normalize
//! to the same text; text that identifies nothing normalizes to `None`.
//!
//! - Phones ([`normalize_phone`], in `normalize_phone.rs`): E.164 `+86` + national number.
//! - E-mails ([`normalize_email`], in `normalize_email.rs`): the first whole address, lower case.
//! - Company names: full-width folded, traditional characters simplified (OpenCC's `t2s`
//!   tables, through `ferrous-opencc`), spaces and every bracket form removed, Latin letters
//!   upper case, Chinese legal forms (有限公司, 有限责任公司, 股份有限公司, 集团, a final 公司)
//!   and English ones at the end (Co., Ltd., Limited, Inc., Corp.) removed, branch words
//!   (分部, 办事处) written 分公司.

use std::sync::LazyLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;

pub use super::normalize_email::normalize_email;
pub use super::normalize_phone::normalize_phone;

/// Traditional to simplified Chinese, loaded once from the tables compiled into the binary.
static T2S: LazyLock<OpenCC> = LazyLock::new(|| {
    OpenCC::from_config(BuiltinConfig::T2s).expect("the built-in t2s tables load")
});

/// Full-width ASCII variants (`１２３`, `（`) to their half-width forms; ideographic space to space.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Characters that show nothing and mean nothing in an identifier: zero-width spaces and
/// joiners, the word joiner, the byte order mark, the soft hyphen.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Chinese legal forms removed wherever they occur, longest first.
const LEGAL_FORMS: &[&str] = &[
    "股份有限公司",
    "集团有限公司",
    "有限责任公司",
    "股份公司",
    "有限公司",
    "集团",
];

/// English legal forms removed from the end (spaces already gone, upper case).
const LATIN_FORMS: &[&str] = &[
    "COMPANYLIMITED",
    "CORPORATION",
    "LIMITED",
    "COMPANY",
    "CO.LTD",
    "CO,LTD",
    "LTD",
    "INC",
    "CORP",
    "LLC",
    "CO",
];

/// English legal forms removed from the end, as whole words only (`TES Co., Ltd.` -> `TES`,
/// but `TESCO` stays): a form counts when a space, comma, dot, bracket or a Chinese character
/// stands before it, and something is left.
fn strip_latin_forms(upper: &str) -> String {
    let mut s = upper.to_string();
    loop {
        let trimmed = s.trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '.' | '&' | '-') || is_bracket(c)
        });
        let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        let stripped = LATIN_FORMS.iter().find_map(|form| {
            // Match the form against the end with spaces ignored, then find where it starts in
            // the text with spaces.
            compact.strip_suffix(form)?;
            let mut letters = form.chars().rev().filter(|c| !c.is_whitespace()).count();
            let mut cut = trimmed.len();
            for (i, c) in trimmed.char_indices().rev() {
                if letters == 0 {
                    break;
                }
                if !c.is_whitespace() {
                    letters -= 1;
                }
                cut = i;
            }
            let head = &trimmed[..cut];
            let boundary = head.chars().next_back().is_some_and(|c| {
                c.is_whitespace()
                    || matches!(c, ',' | '.' | '&' | '-')
                    || is_bracket(c)
                    || !c.is_ascii()
            });
            (boundary && !head.trim().is_empty()).then(|| head.to_string())
        });
        match stripped {
            Some(head) => s = head,
            None => return trimmed.to_string(),
        }
    }
}

fn is_bracket(c: char) -> bool {
    matches!(
        c,
        '(' | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '〔'
            | '〕'
            | '【'
            | '】'
            | '「'
            | '」'
            | '『'
            | '』'
            | '〈'
            | '〉'
            | '《'
            | '》'
            | '〖'
            | '〗'
            | '（'
            | '）'
            | '［'
            | '］'
    )
}

/// A company name reduced for matching (see the module docs). NULL when nothing is left.
pub fn normalize_company(text: &str) -> Option<String> {
    let folded: String = text.chars().map(fold_width).collect();
    let simplified = if folded.is_ascii() {
        folded
    } else {
        T2S.convert(&folded)
    };
    let simplified = strip_latin_forms(&simplified.to_ascii_uppercase());
    let mut s: String = simplified
        .chars()
        .filter(|c| !c.is_whitespace() && !is_bracket(*c))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    // 分公司 is a branch, not a legal form: keep it out of reach of the removals below.
    const BRANCH: &str = "\u{E000}";
    s = s.replace("分公司", BRANCH);
    for form in LEGAL_FORMS {
        s = s.replace(form, "");
    }
    s = s.replace(&format!("公司{BRANCH}"), BRANCH);
    if let Some(head) = s.strip_suffix("公司") {
        s = head.to_string();
    }
    s = s.trim_end_matches([',', '.', '&', '-']).to_string();
    s = s.replace(BRANCH, "分公司");
    for branch in ["分部", "办事处"] {
        if let Some(head) = s.strip_suffix(branch) {
            s = format!("{head}分公司");
        }
    }
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_names_normalize_to_one_key() {
        let legal = normalize_company("上海恒瑞科技有限公司北京分公司");
        for v in [
            " 上海恒瑞科技股份有限公司北京分部 ",
            "上海恒瑞科技　有限公司北京分公司",
            "上海恒瑞科技北京分部",
            "上海恒瑞科技有限责任公司北京分公司",
            "上海恆瑞科技有限公司北京分公司",
        ] {
            assert_eq!(normalize_company(v), legal, "{v}");
        }
        assert_eq!(
            normalize_company("恒瑞ＩＴ服务（上海）有限公司bj分部").as_deref(),
            Some("恒瑞IT服务上海BJ分公司")
        );
        assert_eq!(normalize_company(" 有限公司 "), None);
    }

    #[test]
    fn traditional_brackets_and_legal_forms_fold() {
        let simplified = normalize_company("深圳华信电子贸易有限公司");
        assert_eq!(simplified.as_deref(), Some("深圳华信电子贸易"));
        for v in [
            "深圳華信電子貿易有限公司",
            "〔深圳〕华信电子贸易有限公司",
            "【深圳】华信电子贸易有限责任公司",
            "「深圳」華信電子貿易股份有限公司",
            "［深圳］华信电子贸易公司",
            "深圳华信电子贸易 Co., Ltd.",
            "深圳华信电子贸易 Company Limited",
            "深圳华信电子贸易集团",
        ] {
            assert_eq!(normalize_company(v), simplified, "{v}");
        }
        assert_eq!(
            normalize_company("Hengrui Tech Co., Ltd.").as_deref(),
            Some("HENGRUITECH")
        );
    }

    #[test]
    fn english_legal_forms_are_whole_words() {
        let n = |t: &str| normalize_company(t).unwrap();
        assert_eq!(n("TES Co., Ltd."), "TES");
        assert_eq!(n("TESCO"), "TESCO");
        assert_eq!(n("DIS Inc."), "DIS");
        assert_eq!(n("Disco"), "DISCO");
        assert_eq!(n("ZINC"), "ZINC");
        assert_eq!(n("深圳华信电子贸易Co.,Ltd."), "深圳华信电子贸易");
        assert_eq!(n("Hengrui Company Limited"), "HENGRUI");
    }
}
