//! Values that identify nobody (DOMAIN.md, "Identity resolution"): placeholder phones and
//! e-mails, junk names and default nicknames. Such a value is never a match key.
//!
//! The built-in lists below are extended (never reduced) by the pipeline's `identity.placeholders`.
//! Keys arrive normalized (`p:+86...`, `e:...`, `n:...`, see `dwd_customer_match_key`), so the
//! pipeline's extra values are normalized the same way before comparing.

use std::collections::HashSet;

use crate::engine::udf::{normalize_company, normalize_email, normalize_phone};
use crate::model::IdentityConfig;

/// National numbers typed when the real one is unknown (besides the patterns of [`is_junk_phone`]).
const PLACEHOLDER_PHONES: &[&str] = &[
    "12345678901",
    "12345678910",
    "01234567890",
    "1234567890",
    "13812345678",
    // China Mobile's service number, the classic example mobile of forms and manuals.
    "13800138000",
];

/// Mailboxes that reach nobody, at any domain.
const PLACEHOLDER_LOCALS: &[&str] = &[
    "test",
    "testing",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
    "null",
    "none",
    "nobody",
    "na",
    "n/a",
    "xxx",
    "example",
    "unknown",
    "nomail",
    "noemail",
    "123456",
];

/// Domains that hold nobody's mailbox.
const PLACEHOLDER_DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "example.net",
    "test.com",
    "test.cn",
    "none.com",
    "null.com",
    "xxx.com",
    "localhost",
    "mailinator.com",
    "email.com",
    "mail.com.cn",
];

/// Top-level domains reserved for documentation and tests (RFC 2606).
const RESERVED_TLDS: &[&str] = &["invalid", "test", "example", "localhost"];

/// Names that name nobody, as [`normalize_company`] writes them.
const JUNK_NAMES: &[&str] = &[
    "N/A",
    "NA",
    "NULL",
    "NONE",
    "NIL",
    "TEST",
    "UNKNOWN",
    "XXX",
    "无",
    "暂无",
    "没有",
    "空",
    "个人",
    "个体",
    "个体户",
    "测试",
    "测试用户",
    "测试公司",
    "微信用户",
    "匿名",
    "匿名用户",
    "未知",
    "不详",
    "客户",
    "散客",
    "用户",
    "会员",
    "其他",
    "先生",
    "女士",
    "小姐",
    "默认",
    "某某",
    "XX",
    "暂无信息",
    "未填写",
    "个人客户",
    "游客",
    "无名氏",
    "佚名",
    "未命名",
    "待定",
    "空白",
    "ADMIN",
    "先生/女士",
    "N.A",
    // Generic labels typed where a name belongs.
    "现金客户",
    "零售客户",
    "散户",
    "临时客户",
    "普通客户",
    "新客户",
    "老客户",
    "门店客户",
    "线上客户",
    "网店客户",
    "默认客户",
    "个体工商户",
    "新用户",
    "VIP客户",
    "VIP",
    "个人用户",
    "注册用户",
    "会员用户",
    "默认用户",
    "注销用户",
    "已注销",
    "自然人",
    "无名",
    "无名称",
    "未知客户",
    "未知用户",
    "客户名称",
    "公司名称",
    "用户名",
    "姓名",
    "名称",
    "昵称",
    "默认昵称",
    "请填写",
    "未填",
    "测试账号",
    "测试客户",
    "老板",
    "经理",
    "老师",
    "同学",
    "师傅",
    "WeChat User",
    "Test User",
    "Test Account",
    "Anonymous",
    "Unknown User",
    "Customer",
    "Individual",
    "Guest",
    "User",
    "#N/A",
    "Nobody",
    "Default",
    "企业客户",
    "潜在客户",
    "意向客户",
    "批发客户",
    "大客户",
    "经销商",
    "代理商",
    "买家",
    "卖家",
    "内部员工",
    "员工",
    "普通会员",
    "企业",
    "株式会社",
    "待补充",
    "待完善",
    "未提供",
    "见备注",
    "详见备注",
    "不知道",
    "不清楚",
    "抖音用户",
    "拼多多用户",
    "快手用户",
    "小红书用户",
    "便利店",
    "水果店",
    "小卖部",
    "超市",
    "旗舰店",
    "官方旗舰店",
    "专卖店",
    "网店",
    "淘宝店",
    "门市部",
];

/// What is left of a name that holds nothing but a legal form, a branch word or one character:
/// `Ltd.` (`LTD`), `分公司`, `总部`, `北京办事处` (`北京分公司`), `张`, `A`. Nothing in it tells
/// one company from another.
fn is_bare_form(name: &str) -> bool {
    const LATIN_FORMS: &[&str] = &[
        "CO",
        "LTD",
        "COLTD",
        "INC",
        "CORP",
        "LLC",
        "PLC",
        "PTE",
        "PTELTD",
        "GMBH",
        "LIMITED",
        "COMPANY",
        "GROUP",
        "CORPORATION",
        "INCORPORATED",
        "PTY",
        "PTYLTD",
        "SDNBHD",
        "BHD",
        "LIMITEDLIABILITYCOMPANY",
        "AG",
        "SA",
        "BV",
        "KK",
        "KG",
        "SRL",
        "SAS",
        "OY",
        "AB",
    ];
    // A place: administrative divisions only (`北京市海淀区`, `浦东新区`).
    let place = |head: &str| {
        let mut rest = head;
        while !rest.is_empty() {
            let Some(end) = [
                "自治区",
                "新区",
                "区域",
                "省",
                "市",
                "区",
                "县",
                "镇",
                "州",
                "地区",
            ]
            .iter()
            .filter_map(|s| rest.find(s).map(|i| i + s.len()))
            .min() else {
                return false;
            };
            let part = &rest[..end];
            // A division's name is short: 海淀区, 黑龙江省; an autonomous region's longer.
            let longest = if part.ends_with("自治区") { 8 } else { 4 };
            if part.chars().count() > longest || !part.chars().all(is_cjk) {
                return false;
            }
            rest = &rest[end..];
        }
        true
    };
    const BRANCH_WORDS: &[&str] = &[
        "分公司",
        "总部",
        "总公司",
        "分店",
        "门店",
        "营业部",
        "代表处",
        "分行",
        "支行",
        "分部",
    ];
    if name.chars().count() <= 1 || LATIN_FORMS.contains(&name) || place(name) {
        return true;
    }
    BRANCH_WORDS.iter().any(|w| {
        name.strip_suffix(w).is_some_and(|head| {
            // A place name and a branch word: at most three Han characters before it, or
            // administrative divisions only.
            (head.chars().count() <= 3 && head.chars().all(is_cjk)) || place(head)
        })
    })
}

/// Prefixes of the default nicknames shops give new accounts (`微信用户`, `用户_8237`, `jd_8237ab`).
const NICKNAME_PREFIXES: &[&str] = &[
    "微信用户",
    "手机用户",
    "淘宝用户",
    "京东用户",
    "用户",
    "会员",
    "USER",
    "WX",
    "JD",
    "TB",
    "抖音用户",
    "拼多多用户",
    "快手用户",
    "WXID",
];

/// Why a key is refused before clustering, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Junk {
    PlaceholderPhone,
    PlaceholderEmail,
    JunkName,
    DefaultNickname,
    /// A person's name where a company name belongs ([`super::person`]).
    PersonName,
}

impl Junk {
    /// The reason code written to `dwd_customer_refused_key`.
    pub fn code(self) -> &'static str {
        match self {
            Junk::PlaceholderPhone => "placeholder_phone",
            Junk::PlaceholderEmail => "placeholder_email",
            Junk::JunkName => "junk_name",
            Junk::DefaultNickname => "default_nickname",
            Junk::PersonName => "person_name",
        }
    }
}

/// The built-in lists plus the pipeline's, normalized once.
#[derive(Debug, Clone, Default)]
pub struct JunkRules {
    phones: HashSet<String>,
    emails: HashSet<String>,
    domains: HashSet<String>,
    locals: HashSet<String>,
    names: HashSet<String>,
}

impl JunkRules {
    pub fn new(cfg: &IdentityConfig) -> Self {
        let mut rules = JunkRules::default();
        for p in &cfg.placeholder_phones {
            if let Some(n) = normalize_phone(p) {
                rules.phones.insert(n);
            }
        }
        for e in &cfg.placeholder_emails {
            let e = e.trim().to_lowercase();
            if let Some(domain) = e.strip_prefix('@') {
                rules.domains.insert(domain.to_string());
            } else if let Some(local) = e.strip_suffix('@') {
                rules.locals.insert(local.to_string());
            } else if let Some(n) = normalize_email(&e) {
                rules.emails.insert(n);
            }
        }
        let built_in = JUNK_NAMES.iter().map(|n| n.to_string());
        for n in built_in.chain(cfg.placeholder_names.iter().cloned()) {
            if let Some(n) = normalize_company(&n) {
                rules.names.insert(n);
            }
        }
        rules
    }

    /// Why the match key `key` (`p:`, `e:` or `n:` and a normalized value) identifies nobody.
    /// A [`Junk::PersonName`] still describes its record; the other kinds describe nobody.
    pub fn classify(&self, key: &str) -> Option<Junk> {
        let (kind, value) = key.split_at_checked(2)?;
        match kind {
            "p:" => (is_junk_phone(value) || self.phones.contains(value))
                .then_some(Junk::PlaceholderPhone),
            "e:" => self.is_junk_email(value).then_some(Junk::PlaceholderEmail),
            "n:" => self.classify_name(value),
            // A person's name (dwd_customer_match_key marks it `h:`), unless junk anyway.
            "h:" => Some(self.classify_name(value).unwrap_or(Junk::PersonName)),
            _ => None,
        }
    }

    fn is_junk_email(&self, email: &str) -> bool {
        let Some((local, domain)) = email.rsplit_once('@') else {
            return true;
        };
        let tld = domain.rsplit('.').next().unwrap_or(domain);
        self.emails.contains(email)
            || PLACEHOLDER_LOCALS.contains(&local)
            || self.locals.contains(local)
            || PLACEHOLDER_DOMAINS.contains(&domain)
            || self.domains.contains(domain)
            || RESERVED_TLDS.contains(&tld)
            || (local.chars().count() > 2 && all_same(local))
            || is_filler_mailbox(local, domain)
    }

    fn classify_name(&self, name: &str) -> Option<Junk> {
        // A junk word numbered or lettered to make it unique (`测试1`, `TEST123`, `客户A`).
        let numbered = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_' || c == '-');
        let lettered = name
            .strip_suffix(|c: char| c.is_ascii_uppercase())
            .filter(|head| head.chars().next_back().is_some_and(is_cjk));
        let junk = |n: &str| JUNK_NAMES.contains(&n) || self.names.contains(n);
        if junk(name) || !name.chars().any(char::is_alphabetic) {
            return Some(Junk::JunkName);
        }
        let numbered_junk = (numbered != name && junk(numbered)) || lettered.is_some_and(junk);
        let nickname = NICKNAME_PREFIXES
            .iter()
            .filter_map(|p| name.strip_prefix(p))
            .any(|rest| {
                !rest.chars().any(is_cjk)
                    && (rest.is_empty()
                        || rest.starts_with(['_', '-'])
                        || rest.chars().any(|c| c.is_ascii_digit()))
            });
        if nickname {
            Some(Junk::DefaultNickname)
        } else {
            (numbered_junk || is_bare_form(name)).then_some(Junk::JunkName)
        }
    }
}

/// Placeholder patterns of an E.164 `+86...` number: every digit the same, a mobile whose last
/// eight digits are one repeated digit (`13800000000`), a landline whose number is zeros, or a
/// listed filler.
fn is_junk_phone(e164: &str) -> bool {
    let national = e164.strip_prefix("+86").unwrap_or(e164);
    let n = national.len();
    let is_mobile = n == 11 && national.starts_with('1');
    // A landline's subscriber number typed as a run: 12345678, 87654321, 88888888. (Not for
    // mobiles: 139 1234 5678 is the contract's own example of a real customer's number.)
    let subscriber = &national[n.saturating_sub(8)..];
    let run = !is_mobile && n >= 8 && (is_run(subscriber) || all_same(subscriber));
    all_same(national)
        || run
        || (is_mobile && all_same(&national[3..]))
        || (!is_mobile && n > 7 && national[n - 7..].chars().all(|c| c == '0'))
        || PLACEHOLDER_PHONES.contains(&national)
}

/// A mailbox typed to fill the field: its name is its domain's (`a@a.com`, `qq@qq.com`,
/// `admin@admin.com`), or a placeholder word with separators or a number (`no.reply`, `test1`).
fn is_filler_mailbox(local: &str, domain: &str) -> bool {
    let bare: String = local
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | '_'))
        .collect();
    let word = bare.trim_end_matches(|c: char| c.is_ascii_digit());
    const FILLER_AT_PUBLIC: &[&str] = &[
        "user", "demo", "asdf", "qwer", "qwerty", "info", "admin", "abc", "aaa", "sample", "123",
        "1234", "guest", "mail", "email", "no", "qwe", "test", "none",
    ];
    let public = super::guard::is_public_mail_domain(domain);
    (public && (FILLER_AT_PUBLIC.contains(&local) || local.chars().count() <= 2))
        || domain.split('.').next() == Some(local)
        || PLACEHOLDER_LOCALS.contains(&bare.as_str())
        || (!word.is_empty() && word != bare && PLACEHOLDER_LOCALS.contains(&word))
}

/// Digits ascending or descending by one (`12345678`, `87654321`).
fn is_run(s: &str) -> bool {
    let d: Vec<i32> = s.bytes().map(|b| i32::from(b) - i32::from(b'0')).collect();
    d.len() > 2
        && (d.windows(2).all(|w| w[1] - w[0] == 1) || d.windows(2).all(|w| w[0] - w[1] == 1))
}

fn all_same(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> JunkRules {
        JunkRules::new(&IdentityConfig {
            placeholder_phones: vec!["139 0000 1111".into()],
            placeholder_emails: vec!["@corp-dummy.cn".into(), "info@".into()],
            placeholder_names: vec!["暂无名称".into()],
            ..IdentityConfig::default()
        })
    }

    #[test]
    fn placeholder_phones() {
        let r = rules();
        for k in [
            "p:+8613800000000",
            "p:+8600000000000",
            "p:+8611111111111",
            "p:+8613999999999",
            "p:+8612345678901",
            "p:+861080000000",
            "p:+8613900001111",
            "p:+8613812345678",
            "p:+8612345678910",
            "p:+8613800138000",
            "p:+861012345678",
            "p:+862188888888",
        ] {
            assert_eq!(r.classify(k), Some(Junk::PlaceholderPhone), "{k}");
        }
        for k in ["p:+8613912345670", "p:+861065521234", "p:+8613800138001"] {
            assert_eq!(r.classify(k), None, "{k}");
        }
    }

    #[test]
    fn placeholder_emails() {
        let r = rules();
        for k in [
            "e:test@test.com",
            "e:noreply@shop.cn",
            "e:zhang@example.com",
            "e:a@b.invalid",
            "e:xxxx@qq.com",
            "e:li@corp-dummy.cn",
            "e:info@hengrui.cn",
            "e:a@a.com",
            "e:qq@qq.com",
            "e:admin@admin.com",
            "e:no.reply@shop.cn",
            "e:test1@test1.com",
            "e:test123@hengrui.cn",
            "e:user@163.com",
            "e:demo@qq.com",
            "e:123@qq.com",
        ] {
            assert_eq!(r.classify(k), Some(Junk::PlaceholderEmail), "{k}");
        }
        for k in [
            "e:zhang.san@hengrui.cn",
            "e:123456789@qq.com",
            "e:hengrui@hengrui-tech.cn",
        ] {
            assert_eq!(r.classify(k), None, "{k}");
        }
    }

    #[test]
    fn junk_names_and_nicknames() {
        let r = rules();
        for (k, why) in [
            ("n:N/A", Junk::JunkName),
            ("n:无", Junk::JunkName),
            ("n:个人", Junk::JunkName),
            ("n:测试", Junk::JunkName),
            ("n:匿名", Junk::JunkName),
            ("n:暂无名称", Junk::JunkName),
            ("n:---", Junk::JunkName),
            ("n:微信用户", Junk::JunkName),
            ("n:微信用户8237", Junk::DefaultNickname),
            ("n:用户_8237", Junk::DefaultNickname),
            ("n:JD_8237AB", Junk::DefaultNickname),
            ("n:测试1", Junk::JunkName),
            ("n:TEST123", Junk::JunkName),
            ("n:客户A", Junk::JunkName),
            ("n:某某", Junk::JunkName),
            ("n:先生/女士", Junk::JunkName),
            ("n:N.A", Junk::JunkName),
            ("n:北京市海淀区分公司", Junk::JunkName),
            ("n:浦东新区分公司", Junk::JunkName),
            ("n:内蒙古自治区分公司", Junk::JunkName),
            ("n:朝阳区", Junk::JunkName),
            ("n:PTYLTD", Junk::JunkName),
            ("n:企业客户", Junk::JunkName),
        ] {
            assert_eq!(r.classify(k), Some(why), "{k}");
        }
        for k in [
            "n:上海恒瑞科技",
            "n:用友软件",
            "n:会员制超市连锁",
            "n:USERLAND",
            "n:恒瑞A",
            "n:仟鑫供应链杭州",
            "n:升霖实业东莞杭州分公司",
            "n:3M",
        ] {
            assert_eq!(r.classify(k), None, "{k}");
        }
    }
}
