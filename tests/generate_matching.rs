//! Customer deduplication must be realistic but solvable: copies of one real customer share a
//! normalized phone, e-mail or company name with its CRM record; different real customers share
//! no phone or e-mail and almost never a normalized name. The normalizer below is written from
//! DOMAIN.md independently of the generator.

mod generate_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use generate_support::*;
use strata::generate::DirtyRates;

/// City and the Latin abbreviation used in branch names (BJ分部 = 北京分公司).
const BRANCH_ALIASES: &[(&str, &str)] = &[
    ("北京", "BJ"),
    ("上海", "SH"),
    ("天津", "TJ"),
    ("重庆", "CQ"),
    ("广州", "GZ"),
    ("深圳", "SZ"),
    ("东莞", "DG"),
    ("佛山", "FS"),
    ("杭州", "HZ"),
    ("宁波", "NB"),
    ("温州", "WZ"),
    ("南京", "NJ"),
    ("苏州", "SUZ"),
    ("无锡", "WX"),
    ("成都", "CD"),
    ("武汉", "WH"),
    ("西安", "XA"),
    ("济南", "JN"),
    ("青岛", "QD"),
    ("福州", "FZ"),
    ("厦门", "XM"),
    ("郑州", "ZZ"),
    ("长沙", "CS"),
    ("合肥", "HF"),
    ("沈阳", "SY"),
    ("大连", "DL"),
    ("石家庄", "SJZ"),
    ("昆明", "KM"),
    ("南昌", "NC"),
    ("南宁", "NN"),
    ("哈尔滨", "HEB"),
    ("长春", "CC"),
    ("太原", "TY"),
    ("贵阳", "GY"),
    ("海口", "HK"),
    ("兰州", "LZ"),
];

fn fold_width(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect()
}

fn norm_name(s: &str) -> String {
    let mut n: String = fold_width(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    for (city, abbr) in BRANCH_ALIASES {
        n = n.replace(&format!("{abbr}分部"), &format!("{city}分公司"));
        n = n.replace(&format!("{city}分部"), &format!("{city}分公司"));
    }
    for suffix in ["股份有限公司", "集团有限公司", "有限公司", "集团"] {
        n = n.replace(suffix, "");
    }
    n
}

fn norm_phone(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let national = if digits.len() > 11 && digits.starts_with("86") {
        &digits[2..]
    } else {
        &digits[..]
    };
    national.trim_start_matches('0').to_string()
}

fn norm_email(s: &str) -> String {
    s.trim().to_lowercase()
}

#[derive(Default)]
struct Signals {
    phones: BTreeSet<String>,
    emails: BTreeSet<String>,
    names: BTreeSet<String>,
}

impl Signals {
    fn shares(&self, other: &Signals) -> bool {
        !self.phones.is_disjoint(&other.phones)
            || !self.emails.is_disjoint(&other.emails)
            || !self.names.is_disjoint(&other.names)
    }
}

#[test]
fn copies_share_a_signal_and_strangers_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let customers = 1500;
    generate(dir.path(), customers, 60, 21, DirtyRates::default());
    let ods = dir.path().join("ods");
    let truth: HashMap<(String, String), String> = truth(dir.path(), "customer_truth")
        .into_iter()
        .map(|(s, id, k)| ((s, id), k))
        .collect();

    // Signals per source record, over all its landed versions.
    let mut records: BTreeMap<(String, String), Signals> = BTreeMap::new();
    let mut raw_phones = Vec::new();
    let mut raw_names = Vec::new();
    let mut raw_emails = Vec::new();
    let mut add = |system: &str,
                   ids: Vec<Option<String>>,
                   phone: Vec<Option<String>>,
                   email: Vec<Option<String>>,
                   name: Vec<Option<String>>| {
        for i in 0..ids.len() {
            let rec = records
                .entry((system.to_string(), ids[i].clone().expect("id")))
                .or_default();
            if let Some(p) = &phone[i] {
                rec.phones.insert(norm_phone(p));
                raw_phones.push(p.clone());
            }
            if let Some(e) = &email[i] {
                rec.emails.insert(norm_email(e));
                raw_emails.push(e.clone());
            }
            if let Some(n) = &name[i] {
                rec.names.insert(norm_name(n));
                raw_names.push(n.clone());
            }
        }
    };
    let crm = read_table(&ods, "ods_crm_customer");
    add(
        "crm",
        crm.str("crm_id"),
        crm.str("phone"),
        crm.str("email"),
        crm.str("company_name"),
    );
    let shop = read_table(&ods, "ods_shop_customer");
    add(
        "shop",
        shop.str("shop_uid"),
        shop.str("mobile"),
        shop.str("email"),
        shop.str("display_name"),
    );
    let erp = read_table(&ods, "ods_erp_customer");
    add(
        "erp",
        erp.str("erp_code"),
        erp.str("tel"),
        vec![None; erp.len()],
        erp.str("legal_name"),
    );

    // Group records by real customer.
    type Record<'a> = (&'a (String, String), &'a Signals);
    let mut by_key: BTreeMap<&str, Vec<Record>> = BTreeMap::new();
    for (rec, signals) in &records {
        by_key
            .entry(truth[rec].as_str())
            .or_default()
            .push((rec, signals));
    }
    let mut multi_source = 0;
    for (key, recs) in &by_key {
        if recs.len() > 1 {
            multi_source += 1;
        }
        match recs.iter().find(|(r, _)| r.0 == "crm") {
            Some((_, anchor)) => {
                for (rec, signals) in recs {
                    assert!(
                        rec.0 == "crm" || signals.shares(anchor),
                        "{rec:?} shares nothing with the CRM record of {key}"
                    );
                }
            }
            None => {
                // Without CRM the copies must still be linked to each other.
                for (rec, signals) in recs {
                    let linked =
                        recs.len() == 1 || recs.iter().any(|(o, s)| o != rec && signals.shares(s));
                    assert!(
                        linked,
                        "{rec:?} shares nothing with the other records of {key}"
                    );
                }
            }
        }
    }
    assert!(
        multi_source > customers / 4,
        "only {multi_source} customers are in several sources"
    );

    // Strangers: phones and e-mails never shared, names rarely.
    let mut owners: HashMap<(u8, &str), BTreeSet<&str>> = HashMap::new();
    for (rec, s) in &records {
        let key = truth[rec].as_str();
        for p in &s.phones {
            owners.entry((0, p)).or_default().insert(key);
        }
        for e in &s.emails {
            owners.entry((1, e)).or_default().insert(key);
        }
        for n in &s.names {
            owners.entry((2, n)).or_default().insert(key);
        }
    }
    for ((kind, value), keys) in &owners {
        assert!(
            *kind == 2 || keys.len() == 1,
            "{value} is shared by different customers {keys:?}"
        );
    }
    let colliding: BTreeSet<&str> = owners
        .iter()
        .filter(|((kind, _), keys)| *kind == 2 && keys.len() > 1)
        .flat_map(|(_, k)| k.iter().copied())
        .collect();
    assert!(
        (colliding.len() as f64) < 0.005 * customers as f64,
        "{} customers share a normalized name with another customer",
        colliding.len()
    );

    // The dirt is really there.
    assert!(raw_phones.iter().any(|p| p.starts_with("+86 ")));
    assert!(raw_phones.iter().any(|p| p.matches('-').count() == 2));
    assert!(
        raw_phones
            .iter()
            .any(|p| p.len() == 11 && p.chars().all(|c| c.is_ascii_digit()))
    );
    assert!(raw_phones.iter().any(|p| p.starts_with("(0")));
    assert!(raw_names.iter().any(|n| n.contains("分部")));
    assert!(
        raw_names.iter().any(|n| n.contains('(')) && raw_names.iter().any(|n| n.contains('（'))
    );
    assert!(
        raw_names
            .iter()
            .any(|n| n.starts_with(' ') || n.contains('\u{3000}'))
    );
    assert!(
        raw_names
            .iter()
            .any(|n| n.chars().any(|c| ('\u{FF21}'..='\u{FF3A}').contains(&c)))
    );
    assert!(
        raw_emails.iter().any(|e| e.trim() != e)
            && raw_emails
                .iter()
                .any(|e| e.chars().any(|c| c.is_ascii_uppercase()))
    );
    let several_mobiles = by_key
        .values()
        .filter(|recs| {
            recs.iter()
                .flat_map(|(_, s)| s.phones.iter())
                .filter(|p| p.starts_with('1'))
                .collect::<BTreeSet<_>>()
                .len()
                > 1
        })
        .count();
    assert!(several_mobiles > 0, "no customer uses several mobiles");
}
