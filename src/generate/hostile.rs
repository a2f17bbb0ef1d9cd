//! The hostile profile (`strata generate crm --profile hostile`): identifiers as real CRMs and
//! shops hold them (issue 12), on top of the default dirt.
//!
//! - Strangers: extra real customers, each with one shop account that holds only values that
//!   identify nobody: a placeholder mobile (`13800000000`, `00000000000`, `13999999999`), often
//!   a placeholder e-mail (`test@test.com`, `noreply@...`) and a default nickname (`微信用户`,
//!   `用户_4821`). Each is its own customer in the ground truth.
//! - Chains: extra real customers who open 2..=`max_chain` shop accounts over time, each sharing
//!   a mobile or an e-mail with the next and nothing else (default nicknames), so only the whole
//!   chain joins them.
//! - Disguises of real records that keep every normalized key: traditional characters, bracket
//!   forms (〔〕【】「」［］), other legal forms (有限责任公司, Co., Ltd.), phone extensions
//!   (`转 801`, `ext. 801`, `x801`, `#801`), country prefixes (`0086`, `86`), e-mails with
//!   `mailto:`, angle brackets or a trailing dot; placeholder e-mails on shop accounts that
//!   still name their company.
//!
//! Invariant kept: every record of a real customer still shares a usable (non-placeholder) key
//! with its anchor record, or with its chain neighbours.

use super::calendar::{Calendar, instant};
use super::identity::mobile_digits;
use super::rng::{Rng, Stream, key, rng};

/// Rates of the hostile dirt; all zero outside the hostile profile.
#[derive(Clone, Debug, PartialEq)]
pub struct HostileRates {
    /// Per real customer: one extra stranger account with placeholder identifiers; and per shop
    /// account of a real customer (not its anchor): a placeholder e-mail. About 1% of accounts.
    pub placeholder: f64,
    /// Per real customer: an extra customer who owns a chain of shop accounts.
    pub chain: f64,
    /// Longest chain of accounts (2..=30).
    pub max_chain: u32,
    /// Per record: the company name in traditional characters.
    pub traditional: f64,
    /// Per CRM or ERP phone: an extension after the number.
    pub phone_extension: f64,
    /// Per record: other bracket forms and legal forms, phone country prefixes, e-mail wrappers.
    pub odd_forms: f64,
}

impl HostileRates {
    /// No hostile dirt (the default profile).
    pub fn off() -> Self {
        Self {
            placeholder: 0.0,
            chain: 0.0,
            max_chain: 30,
            traditional: 0.0,
            phone_extension: 0.0,
            odd_forms: 0.0,
        }
    }

    /// The hostile profile's rates.
    pub fn hostile() -> Self {
        Self {
            placeholder: 0.01,
            chain: 0.01,
            max_chain: 30,
            traditional: 0.1,
            phone_extension: 0.05,
            odd_forms: 0.1,
        }
    }

    pub(crate) fn named(&self) -> [(&'static str, f64); 5] {
        [
            ("hostile.placeholder", self.placeholder),
            ("hostile.chain", self.chain),
            ("hostile.traditional", self.traditional),
            ("hostile.phone_extension", self.phone_extension),
            ("hostile.odd_forms", self.odd_forms),
        ]
    }
}

/// Placeholder mobiles and e-mails, and default nicknames, as shops hold them.
const PLACEHOLDER_MOBILES: &[&str] = &["13800000000", "00000000000", "13999999999", "11111111111"];
const PLACEHOLDER_EMAILS: &[&str] = &[
    "test@test.com",
    "noreply@shop.cn",
    "no-reply@qq.com",
    "null@example.com",
];
const NICKNAMES: &[&str] = &["微信用户", "用户_", "手机用户", "jd_", "微信用户"];

/// A shop account of an extra real customer (a stranger or a chain).
#[derive(Clone, Debug)]
pub(crate) struct ExtraAccount {
    /// Index of its real customer after the population (`true_key(n + customer)`).
    pub customer: u32,
    /// Shop sequence number.
    pub no: u32,
    pub land_day: i32,
    pub registered: i64,
    pub display: String,
    pub mobile: String,
    pub email: Option<String>,
}

/// The extra accounts of a population of `n` customers whose shop numbers end at `shop_count`.
pub(crate) fn extra_accounts(
    seed: u64,
    n: usize,
    shop_count: u32,
    cal: &Calendar,
    rates: &HostileRates,
    phone_salt: u64,
) -> Vec<ExtraAccount> {
    let mut out = Vec::new();
    let mut customer = 0u32;
    // Mobile slots above the population's (2 per customer) are free.
    let mut slot = 2 * n as u64;
    let window = i64::from(cal.last - cal.first + 1);
    for k in 0..n as u64 {
        let mut r = rng(key(seed, Stream::Hostile, k, 0));
        if r.chance(rates.placeholder) {
            let email = r
                .chance(0.6)
                .then(|| r.pick(PLACEHOLDER_EMAILS).to_string());
            let mobile = r.pick(PLACEHOLDER_MOBILES).to_string();
            let display = nickname(&mut r);
            out.push(account(
                &mut r, cal, window, customer, display, mobile, email,
            ));
            customer += 1;
        }
        if r.chance(rates.chain) {
            let len = r.range(2, i64::from(rates.max_chain.max(2)) + 1) as usize;
            // Link i joins accounts i and i + 1: an e-mail when i is even, else a mobile.
            let links: Vec<String> = (0..len - 1)
                .map(|i| {
                    if i.is_multiple_of(2) {
                        format!("shopper{k}.{i}@163.com")
                    } else {
                        slot += 1;
                        mobile_digits(slot, phone_salt)
                    }
                })
                .collect();
            for j in 0..len {
                let mut mobile = r.pick(PLACEHOLDER_MOBILES).to_string();
                let mut email = None;
                for i in [j.checked_sub(1), (j + 1 < len).then_some(j)]
                    .into_iter()
                    .flatten()
                {
                    if i.is_multiple_of(2) {
                        email = Some(links[i].clone());
                    } else {
                        mobile = links[i].clone();
                    }
                }
                let display = nickname(&mut r);
                out.push(account(
                    &mut r, cal, window, customer, display, mobile, email,
                ));
            }
            customer += 1;
        }
    }
    out.sort_by_key(|a| (a.registered, a.customer));
    // Above the numbers orphan orders use (up to shop_count + max(shop_count, 1000)).
    let first = shop_count + shop_count.max(1000) + 1;
    for (i, a) in out.iter_mut().enumerate() {
        a.no = first + i as u32;
    }
    out
}

fn account(
    r: &mut Rng,
    cal: &Calendar,
    window: i64,
    customer: u32,
    display: String,
    mobile: String,
    email: Option<String>,
) -> ExtraAccount {
    let day = cal.first + r.range(0, window) as i32;
    ExtraAccount {
        customer,
        no: 0,
        land_day: day,
        registered: instant(day, r.range(8 * 3600, 23 * 3600) * 1_000_000),
        display,
        mobile,
        email,
    }
}

fn nickname(r: &mut Rng) -> String {
    let base = r.pick(NICKNAMES);
    if base.ends_with('_') {
        format!("{base}{}", r.range(1000, 99_999))
    } else {
        base.to_string()
    }
}

/// A placeholder e-mail for a shop account of a real customer.
pub(crate) fn placeholder_email(r: &mut Rng) -> String {
    r.pick(PLACEHOLDER_EMAILS).to_string()
}

/// A company name as a hostile source writes it (same normalized name).
pub(crate) fn disguise_name(name: String, r: &mut Rng, rates: &HostileRates) -> String {
    let mut name = name;
    if r.chance(rates.odd_forms) {
        let (open, close) = *r.pick(&[("〔", "〕"), ("【", "】"), ("「", "」"), ("［", "］")]);
        name = name.replace(['(', '（'], open).replace([')', '）'], close);
        let plain = name.contains("有限公司")
            && !name.contains("股份有限公司")
            && !name.contains("集团有限公司");
        if plain {
            let form = if name.trim_end().ends_with("有限公司") {
                *r.pick(&["有限责任公司", " Co., Ltd.", " Company Limited"])
            } else {
                "有限责任公司"
            };
            name = name.replacen("有限公司", form, 1);
        }
    }
    if r.chance(rates.traditional) {
        name = to_traditional(&name);
    }
    name
}

/// A phone as a hostile source writes it (same normalized number).
pub(crate) fn disguise_phone(phone: String, r: &mut Rng, rates: &HostileRates) -> String {
    let mut phone = phone;
    if r.chance(rates.odd_forms) && phone.len() == 11 && phone.starts_with('1') {
        phone = format!("{}{phone}", r.pick(&["0086 ", "86 ", "+86-"]));
    }
    if r.chance(rates.phone_extension) {
        let ext = r.range(2, 999);
        let mark = *r.pick(&[" 转 ", " ext. ", "x", " #", " 分机"]);
        phone = format!("{phone}{mark}{ext}");
    }
    phone
}

/// An e-mail as a hostile source writes it (same normalized address).
pub(crate) fn disguise_email(email: String, r: &mut Rng, rates: &HostileRates) -> String {
    if !r.chance(rates.odd_forms) {
        return email;
    }
    match r.below(3) {
        0 => format!("mailto:{}", email.trim()),
        1 => format!("<{}>", email.trim()),
        _ => format!("{}.", email.trim()),
    }
}

/// Simplified characters of the generator's names and their traditional forms (only pairs
/// whose traditional form OpenCC's t2s maps back unambiguously).
const TRADITIONAL: &[(char, char)] = &[
    ('万', '萬'),
    ('专', '專'),
    ('业', '業'),
    ('东', '東'),
    ('丰', '豐'),
    ('丽', '麗'),
    ('乐', '樂'),
    ('云', '雲'),
    ('亚', '亞'),
    ('产', '產'),
    ('亿', '億'),
    ('众', '眾'),
    ('优', '優'),
    ('会', '會'),
    ('伟', '偉'),
    ('传', '傳'),
    ('兰', '蘭'),
    ('兴', '興'),
    ('军', '軍'),
    ('冯', '馮'),
    ('凯', '凱'),
    ('刘', '劉'),
    ('刚', '剛'),
    ('创', '創'),
    ('务', '務'),
    ('动', '動'),
    ('华', '華'),
    ('医', '醫'),
    ('厦', '廈'),
    ('发', '發'),
    ('启', '啟'),
    ('园', '園'),
    ('国', '國'),
    ('团', '團'),
    ('备', '備'),
    ('宁', '寧'),
    ('实', '實'),
    ('宝', '寶'),
    ('广', '廣'),
    ('庆', '慶'),
    ('应', '應'),
    ('开', '開'),
    ('张', '張'),
    ('强', '強'),
    ('数', '數'),
    ('无', '無'),
    ('晓', '曉'),
    ('晖', '暉'),
    ('术', '術'),
    ('机', '機'),
    ('杨', '楊'),
    ('标', '標'),
    ('桥', '橋'),
    ('欧', '歐'),
    ('汇', '匯'),
    ('汉', '漢'),
    ('泽', '澤'),
    ('济', '濟'),
    ('涛', '濤'),
    ('润', '潤'),
    ('温', '溫'),
    ('滨', '濱'),
    ('灿', '燦'),
    ('环', '環'),
    ('电', '電'),
    ('疗', '療'),
    ('粤', '粵'),
    ('纷', '紛'),
    ('络', '絡'),
    ('维', '維'),
    ('网', '網'),
    ('罗', '羅'),
    ('职', '職'),
    ('联', '聯'),
    ('肃', '肅'),
    ('腾', '騰'),
    ('艳', '豔'),
    ('苏', '蘇'),
    ('荣', '榮'),
    ('药', '藥'),
    ('装', '裝'),
    ('计', '計'),
    ('订', '訂'),
    ('训', '訓'),
    ('设', '設'),
    ('诚', '誠'),
    ('询', '詢'),
    ('课', '課'),
    ('贝', '貝'),
    ('货', '貨'),
    ('贵', '貴'),
    ('贸', '貿'),
    ('赁', '賃'),
    ('资', '資'),
    ('赛', '賽'),
    ('轩', '軒'),
    ('软', '軟'),
    ('辉', '輝'),
    ('输', '輸'),
    ('辽', '遼'),
    ('达', '達'),
    ('运', '運'),
    ('远', '遠'),
    ('连', '連'),
    ('邓', '鄧'),
    ('郑', '鄭'),
    ('钧', '鈞'),
    ('铭', '銘'),
    ('银', '銀'),
    ('链', '鏈'),
    ('销', '銷'),
    ('锁', '鎖'),
    ('锐', '銳'),
    ('锡', '錫'),
    ('锦', '錦'),
    ('长', '長'),
    ('门', '門'),
    ('闽', '閩'),
    ('阅', '閱'),
    ('阳', '陽'),
    ('际', '際'),
    ('陈', '陳'),
    ('陕', '陝'),
    ('险', '險'),
    ('静', '靜'),
    ('韩', '韓'),
    ('顺', '順'),
    ('颖', '穎'),
    ('飞', '飛'),
    ('饮', '飲'),
    ('饰', '飾'),
    ('马', '馬'),
    ('驰', '馳'),
    ('骏', '駿'),
    ('鸿', '鴻'),
    ('鹏', '鵬'),
    ('黄', '黃'),
    ('齐', '齊'),
    ('龙', '龍'),
    ('岛', '島'),
    ('区', '區'),
    ('筑', '築'),
    ('据', '據'),
    ('杰', '傑'),
];

/// The name in traditional characters where the table knows them.
pub(crate) fn to_traditional(s: &str) -> String {
    s.chars()
        .map(|c| {
            TRADITIONAL
                .iter()
                .find(|(simple, _)| *simple == c)
                .map_or(c, |(_, t)| *t)
        })
        .collect()
}
