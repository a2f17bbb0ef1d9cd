//! Normalization of the identifiers that match customer records (DOMAIN.md, "Identity
//! resolution"): phones, e-mails and company names. Two spellings of one identifier normalize
//! to the same text; text that identifies nothing, or not beyond doubt, normalizes to `None`.
//!
//! - Phones ([`normalize_phone`], in `normalize_phone.rs`): E.164 `+86` + national number.
//! - E-mails ([`normalize_email`], in `normalize_email.rs`): the first whole address, lower case.
//! - Company names (here): full-width folded, invisible characters dropped, traditional
//!   characters simplified (OpenCC's `t2s` tables, through `ferrous-opencc`) and a few Taiwan
//!   words written the mainland way (软体 -> 软件, see [`TAIWAN_WORDS`]); spaces, every bracket
//!   and quote (Unicode open/close and initial/final punctuation) and the punctuation between
//!   words (`-`, `.`, `,`, `·`) removed; Latin letters upper case; Chinese legal forms (有限公司,
//!   有限责任公司, 股份有限公司, 集团, 总公司, partnership and sole-trader forms, a final 公司)
//!   removed, and English ones at the end as whole words (Co., Ltd., Limited, Inc.,
//!   Incorporated, Corp., LLC, L.L.C., PLC, GmbH, Pte.); branch words (分部, 办事处) written
//!   分公司. An English form of address at the start keeps its dot (`Mr Smith` -> `MR.SMITH`) so
//!   that a person's name stays recognizable as one (`identity::person`).

use std::sync::LazyLock;

use ferrous_opencc::OpenCC;
use ferrous_opencc::config::BuiltinConfig;
use regex::Regex;

pub use super::normalize_email::normalize_email;
pub use super::normalize_phone::normalize_phone;

/// Traditional to simplified Chinese, loaded once from the tables compiled into the binary.
static T2S: LazyLock<OpenCC> = LazyLock::new(|| {
    OpenCC::from_config(BuiltinConfig::T2s).expect("the built-in t2s tables load")
});

/// Traditional Chinese characters simplified (OpenCC's `t2s`); ASCII text as it is.
pub fn simplify(text: &str) -> String {
    if text.is_ascii() {
        text.to_string()
    } else {
        T2S.convert(text)
    }
}

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

/// Taiwan words simplified character by character (after `t2s`) and the mainland word for the
/// same thing, unless one of the listed words follows (软体家具 is upholstered furniture). OpenCC's
/// own Taiwan-phrase table (`tw2sp`) is not used: it also rewrites words that are the same in
/// both (文件 -> 文档, 蚌埠 -> 蚌端口) and splits 資訊 (-> 信息) from its simplified 资讯.
const TAIWAN_WORDS: &[(&str, &str, &[&str])] = &[
    ("软体", "软件", &["家具", "动物", "沙发", "床"]),
    ("硬体", "硬件", &[]),
    ("韧体", "固件", &[]),
    ("网路", "网络", &[]),
    ("数位", "数字", &[]),
    ("资料库", "数据库", &[]),
    ("伺服器", "服务器", &[]),
    ("印表机", "打印机", &[]),
    ("雷射", "激光", &[]),
    ("积体电路", "集成电路", &[]),
    ("程式", "程序", &[]),
];

fn mainland_words(text: &str) -> String {
    let mut out = text.to_string();
    for (taiwan, mainland, keep_before) in TAIWAN_WORDS {
        if !out.contains(taiwan) {
            continue;
        }
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(taiwan) {
            let after = &rest[i + taiwan.len()..];
            result.push_str(&rest[..i]);
            let keep = keep_before.iter().any(|k| after.starts_with(k));
            result.push_str(if keep { taiwan } else { mainland });
            rest = after;
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// Brackets and quotes of every form (Unicode open, close, initial and final punctuation, and
/// the ASCII quotes) and the punctuation written between words: all become spaces.
static SEPARATORS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"[\p{Ps}\p{Pe}\p{Pi}\p{Pf}"'.,\-\x{2010}-\x{2015}\x{2212}\x{B7}\x{2022}\x{2027}\x{30FB}\x{FF65}]"#)
        .expect("the separator pattern compiles")
});

/// Chinese legal forms removed wherever they occur, longest first.
const LEGAL_FORMS: &[&str] = &[
    "个人独资企业",
    "自然人独资",
    "自然人投资或控股",
    "外商独资",
    "外商投资",
    "中外合资",
    "中外合作",
    "法人独资",
    "国有独资",
    "股份合作",
    "特殊普通合伙",
    "有限合伙企业",
    "普通合伙企业",
    "股份有限公司",
    "集团有限公司",
    "有限责任公司",
    "个人独资",
    "合伙企业",
    "有限合伙",
    "普通合伙",
    "股份公司",
    "有限公司",
    "总公司",
    "集团",
];

/// English legal forms removed from the end (matched with spaces ignored, upper case).
const LATIN_FORMS: &[&str] = &[
    "COMPANYLIMITED",
    "GROUP",
    "INCORPORATED",
    "CORPORATION",
    "LIMITED",
    "COMPANY",
    "GMBH",
    "CORP",
    "LTD",
    "INC",
    "LLC",
    "LLP",
    "PLC",
    "PTE",
    "CO",
    "PTY",
    "SDNBHD",
    "BHD",
    "KK",
    "KG",
    "SA",
    "AG",
];

/// English forms of address that keep a dot after them at the start of a name.
const ADDRESS_TITLES: &[&str] = &["MR", "MRS", "MS", "MISS", "DR", "MADAM", "SIR"];

/// `MR SMITH` -> `MR. SMITH`: a form of address at the start, followed by a space and more,
/// keeps a dot, so that `Mr. Smith` and `Mr Smith` normalize to `MR.SMITH`.
fn mark_address_title(upper: &str) -> String {
    let trimmed = upper.trim_start();
    ADDRESS_TITLES
        .iter()
        .find_map(|t| {
            let rest = trimmed.strip_prefix(t)?;
            (rest.starts_with(' ') && !rest.trim().is_empty()).then(|| format!("{t}.{rest}"))
        })
        .unwrap_or_else(|| upper.to_string())
}

/// English legal forms removed from the end, as whole words only (`TES Co., Ltd.` -> `TES`,
/// but `TESCO` stays): a form counts when a space, dot, `&` or a Chinese character stands before
/// it, and something is left.
fn strip_latin_forms(upper: &str) -> String {
    let mut s = upper.to_string();
    loop {
        let trimmed = s.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | '&'));
        let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        let stripped = LATIN_FORMS.iter().find_map(|form| {
            // Match the form against the end with spaces ignored, then find where it starts in
            // the text with spaces.
            compact.strip_suffix(form)?;
            let mut letters = form.chars().count();
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
            let boundary = head
                .chars()
                .next_back()
                .is_some_and(|c| c.is_whitespace() || matches!(c, '.' | '&') || !c.is_ascii());
            (boundary && !head.trim().is_empty()).then(|| head.to_string())
        });
        match stripped {
            Some(head) => s = head,
            None => return trimmed.to_string(),
        }
    }
}

/// A company name reduced for matching (see the module docs). NULL when nothing is left.
pub fn normalize_company(text: &str) -> Option<String> {
    let folded: String = text
        .chars()
        .filter(|c| !is_invisible(*c))
        .map(fold_width)
        .collect();
    let simplified = if folded.is_ascii() {
        folded
    } else {
        mainland_words(&T2S.convert(&folded))
    };
    let spaced = SEPARATORS.replace_all(&simplified, " ");
    let stripped = strip_latin_forms(&mark_address_title(&spaced.to_ascii_uppercase()));
    let mut s: String = stripped.chars().filter(|c| !c.is_whitespace()).collect();
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
    s = s
        .trim_end_matches(['.', '&', '。', '，', '、', '；', '：', '！', '？', '…'])
        .to_string();
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
    fn registry_qualifiers_and_group_fold() {
        let base = normalize_company("上海恒瑞科技有限公司");
        for v in [
            "上海恒瑞科技有限公司（自然人独资）",
            "上海恒瑞科技有限公司(外商独资)",
            "上海恒瑞科技股份合作公司",
        ] {
            assert_eq!(normalize_company(v), base, "{v}");
        }
        assert_eq!(
            normalize_company("Hengrui Group Co., Ltd."),
            normalize_company("Hengrui Co., Ltd.")
        );
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

    #[test]
    fn partnership_sole_trader_and_head_office_forms_are_removed() {
        let n = |t: &str| normalize_company(t).unwrap();
        assert_eq!(n("北京红杉投资中心（有限合伙）"), "北京红杉投资中心");
        assert_eq!(n("北京红杉投资中心有限合伙企业"), "北京红杉投资中心");
        assert_eq!(n("上海立信咨询合伙企业（普通合伙）"), "上海立信咨询");
        assert_eq!(
            n("上海立信会计师事务所（特殊普通合伙）"),
            "上海立信会计师事务所"
        );
        assert_eq!(n("深圳市华信商行个人独资企业"), "深圳市华信商行");
        assert_eq!(n("深圳市华信商行（个人独资）"), "深圳市华信商行");
        assert_eq!(n("中国华信总公司"), "中国华信");
        assert_eq!(n("中国华信总公司"), n("中国华信有限公司"));
        assert_eq!(n("中国华信集团总公司北京分公司"), "中国华信北京分公司");
        // 总 alone is part of a name.
        assert_eq!(n("总统大药房"), "总统大药房");
        assert_eq!(normalize_company("（有限合伙）"), None);
    }

    #[test]
    fn every_bracket_and_quote_form_is_removed() {
        let simplified = normalize_company("深圳华信电子贸易有限公司");
        for v in [
            "﹙深圳﹚华信电子贸易有限公司",
            "⦅深圳⦆华信电子贸易有限公司",
            "〘深圳〙华信电子贸易有限公司",
            "❨深圳❩华信电子贸易有限公司",
            "⟨深圳⟩华信电子贸易有限公司",
            "\"深圳华信电子贸易有限公司\"",
            "“深圳华信电子贸易有限公司”",
            "‘深圳华信电子贸易’有限公司",
            "«深圳华信电子贸易有限公司»",
            "深圳\u{200B}华信电子贸易\u{FEFF}有限公司",
            "深圳华信电子贸易有限公司·",
            "深圳·华信电子贸易有限公司",
        ] {
            assert_eq!(normalize_company(v), simplified, "{v}");
        }
        assert_eq!(normalize_company("“”"), None);
    }

    #[test]
    fn english_legal_forms_and_word_punctuation_fold() {
        let n = |t: &str| normalize_company(t).unwrap();
        for v in [
            "hengrui-tech co ltd",
            "Hengrui Tech Co., Ltd",
            "Hengrui.Tech Co.,Ltd.",
            "Hengrui Tech Pte. Ltd.",
            "Hengrui Tech Pte Ltd",
            "Hengrui Tech GmbH",
            "Hengrui Tech L.L.C.",
            "Hengrui Tech LLC",
            "Hengrui Tech PLC",
            "Hengrui Tech Incorporated",
            "“Hengrui Tech” Co., Ltd.",
            "Hengrui Tech (Co., Ltd.)",
            "Hengrui\u{200B} Tech Inc.",
        ] {
            assert_eq!(n(v), "HENGRUITECH", "{v}");
        }
        // Whole words only, and something must be left.
        assert_eq!(n("TESCO PLC"), "TESCO");
        assert_eq!(n("TESCO"), "TESCO");
        assert_eq!(n("APLC"), "APLC");
        assert_eq!(n("Compte"), "COMPTE");
        assert_eq!(n("Incorporated"), "INCORPORATED");
        assert_eq!(n("GmbH"), "GMBH");
        // `&` is part of a name.
        assert_eq!(n("Johnson & Johnson Ltd."), "JOHNSON&JOHNSON");
    }

    #[test]
    fn forms_of_address_keep_their_dot() {
        let n = |t: &str| normalize_company(t).unwrap();
        for v in ["Mr. Smith", "Mr Smith", "MR.SMITH", "mr smith"] {
            assert_eq!(n(v), "MR.SMITH", "{v}");
        }
        assert_eq!(n("Ms. Li"), "MS.LI");
        // Only a whole word at the start is a form of address.
        assert_eq!(n("Mrsmith Co., Ltd."), "MRSMITH");
        assert_eq!(n("Dragon Tech Ltd"), "DRAGONTECH");
    }

    #[test]
    fn taiwan_words_read_the_mainland_way() {
        let n = |t: &str| normalize_company(t).unwrap();
        assert_eq!(n("恆瑞軟體科技有限公司"), "恒瑞软件科技");
        assert_eq!(n("恆瑞軟體科技有限公司"), n("恒瑞软件科技有限公司"));
        assert_eq!(n("台灣網路資料庫股份有限公司"), "台湾网络数据库");
        assert_eq!(n("宏碁電腦硬體有限公司"), "宏碁电脑硬件");
        // Words that mean something else, or that are the same in both, stay.
        assert_eq!(n("顾家软体家具有限公司"), "顾家软体家具");
        assert_eq!(n("蚌埠文件资讯有限公司"), "蚌埠文件资讯");
        assert_eq!(n("華信資訊有限公司"), n("华信资讯有限公司"));
    }
}
