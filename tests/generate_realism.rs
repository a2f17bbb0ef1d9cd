//! The default sample looks like a real CRM: skewed and seasonal buying, contracts with
//! renewals and usage, leads followed up per 3-7-21 (mostly), intents in the texts, fading
//! churners, and each kind of dirt of DOMAIN.md present. One run of 2,000 customers over
//! 395 landing days (the committed sample's size) is shared by all checks.

mod generate_support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::Datelike;
use generate_support::*;
use strata::generate::DirtyRates;

struct Sample {
    _dir: tempfile::TempDir,
    ods: PathBuf,
}

fn sample() -> &'static Sample {
    static SAMPLE: OnceLock<Sample> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        generate(dir.path(), 2000, 395, 2024, DirtyRates::default());
        let ods = dir.path().join("ods");
        Sample { _dir: dir, ods }
    })
}

fn last_day() -> i32 {
    epoch_day(end_date())
}

#[test]
fn buying_is_skewed_and_seasonal() {
    let o = read_table(&sample().ods, "ods_order");
    let (sys, cust, time) = (
        o.str("source_system"),
        o.str("source_customer_id"),
        o.ts("order_time"),
    );
    assert!(
        sys.iter()
            .all(|s| matches!(s.as_deref(), Some("shop" | "erp")))
    );
    let mut per_customer: HashMap<(String, String), usize> = HashMap::new();
    for i in 0..o.len() {
        *per_customer
            .entry((
                sys[i].clone().unwrap_or_default(),
                cust[i].clone().unwrap_or_default(),
            ))
            .or_default() += 1;
    }
    let mut counts: Vec<usize> = per_customer.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let top: usize = counts.iter().take(counts.len() / 10).sum();
    assert!(
        top as f64 > 0.35 * o.len() as f64,
        "top 10% of buyers place {top} of {} orders",
        o.len()
    );
    assert!(
        o.len() > 2000 * 12,
        "about 20 orders per customer expected, got {}",
        o.len()
    );

    let month = |m: u32| {
        time.iter()
            .flatten()
            .filter(|t| {
                let d = chrono::NaiveDate::from_num_days_from_ce_opt(shanghai_day(**t) + 719_163)
                    .expect("date");
                d.month() == m
            })
            .count()
    };
    let (feb, nov) = (month(2), month(11));
    assert!(
        (feb as f64) < 0.75 * nov as f64,
        "February {feb} vs November {nov}"
    );

    let currencies = o.str("currency");
    let cny = currencies
        .iter()
        .filter(|c| c.as_deref() == Some("CNY"))
        .count();
    assert!(cny as f64 > 0.8 * o.len() as f64);
    let foreign: BTreeSet<_> = currencies
        .iter()
        .flatten()
        .filter(|c| ["USD", "EUR", "HKD", "JPY", "GBP"].contains(&c.as_str()))
        .collect();
    assert!(foreign.len() >= 3, "{foreign:?}");
}

#[test]
fn orders_land_soon_and_some_land_again() {
    let o = read_table(&sample().ods, "ods_order");
    let (id, time, status, upd, ds) = (
        o.str("order_id"),
        o.ts("order_time"),
        o.str("status"),
        o.ts("updated_at"),
        o.ds_days(),
    );
    let soon = (0..o.len())
        .filter(|&i| (0..=2).contains(&(ds[i] - shanghai_day(time[i].unwrap_or(0)))))
        .count();
    assert!(soon as f64 > 0.95 * o.len() as f64);
    let mut versions: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, k) in id.iter().enumerate() {
        versions
            .entry(k.as_deref().unwrap_or(""))
            .or_default()
            .push(i);
    }
    let identical = versions
        .values()
        .filter(|v| v.len() >= 2 && v.iter().all(|&i| upd[i] == upd[v[0]]))
        .count();
    let changed = versions
        .values()
        .filter(|v| {
            let newest = v
                .iter()
                .copied()
                .max_by_key(|&i| (upd[i], ds[i]))
                .unwrap_or(v[0]);
            v.iter()
                .any(|&i| status[i] != status[newest] && upd[i] < upd[newest] && ds[i] < ds[newest])
        })
        .count();
    assert!(identical > 10, "identical re-landings: {identical}");
    assert!(changed > 10, "status changes: {changed}");
}

#[test]
fn contracts_renew_and_drive_usage() {
    let c = read_table(&sample().ods, "ods_contract");
    let (id, crm, start, end, value, from) = (
        c.str("contract_id"),
        c.str("crm_id"),
        c.date("start_date"),
        c.date("end_date"),
        c.decimal("annual_value"),
        c.str("renewed_from"),
    );
    let by_id: HashMap<&str, usize> = id
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_deref().unwrap_or(""), i))
        .collect();
    let mut renewed = BTreeSet::new();
    let (signed, landed) = (c.ts("signed_at"), c.ds_days());
    for i in 0..c.len() {
        // Neither the signature nor the start lies after the landing day.
        assert!(start[i].is_some_and(|s| s <= landed[i]));
        assert!(signed[i].is_some_and(|t| shanghai_day(t) <= landed[i]));
        assert!(value[i].is_some_and(|v| v > 0));
        let (s, e) = (start[i].expect("start"), end[i].expect("end"));
        assert!((364..=365).contains(&(e - s)), "one-year term: {s}..{e}");
        if let Some(prev) = &from[i] {
            let p = by_id[prev.as_str()];
            assert_eq!(crm[p], crm[i], "renewal of another customer's contract");
            assert_eq!(
                end[p].map(|d| d + 1),
                start[i],
                "renewal starts the day after"
            );
            renewed.insert(p);
        }
    }
    let ended: Vec<usize> = (0..c.len())
        .filter(|&i| end[i].is_some_and(|e| e < last_day() - 30))
        .collect();
    let lapsed = ended.iter().filter(|i| !renewed.contains(i)).count();
    assert!(
        !renewed.is_empty() && lapsed > 0,
        "renewed {}, lapsed {lapsed}",
        renewed.len()
    );

    let u = read_table(&sample().ods, "ods_product_usage");
    let (ucrm, udate, uds) = (u.str("crm_id"), u.date("usage_date"), u.ds_days());
    let mut cover: HashMap<&str, Vec<(i32, i32)>> = HashMap::new();
    for i in 0..c.len() {
        cover
            .entry(crm[i].as_deref().unwrap_or(""))
            .or_default()
            .push((start[i].unwrap_or(0), end[i].unwrap_or(0)));
    }
    for i in 0..u.len() {
        let d = udate[i].expect("usage_date");
        assert!(d < uds[i], "usage lands after its day");
        let spans = cover
            .get(ucrm[i].as_deref().unwrap_or(""))
            .expect("usage of a customer with contracts");
        assert!(
            spans.iter().any(|(s, e)| (*s..=*e).contains(&d)),
            "usage outside any contract"
        );
    }
    // Some subscribers' usage drops by 30% or more month over month (the yellow warning).
    let mut recent: HashMap<&str, (i64, i64)> = HashMap::new();
    let events = u.int64("events");
    for i in 0..u.len() {
        let age = last_day() - udate[i].unwrap_or(0);
        let e = recent.entry(ucrm[i].as_deref().unwrap_or("")).or_default();
        if age < 30 {
            e.0 += events[i].unwrap_or(0);
        } else if age < 60 {
            e.1 += events[i].unwrap_or(0);
        }
    }
    assert!(
        recent
            .values()
            .any(|(now, prev)| *prev > 0 && (*now as f64) <= 0.7 * *prev as f64)
    );
}

#[test]
fn leads_are_followed_up_mostly_on_time() {
    let l = read_table(&sample().ods, "ods_lead");
    let i = read_table(&sample().ods, "ods_interaction");
    let (crm, channel, direction, purpose, at) = (
        i.str("crm_id"),
        i.str("channel"),
        i.str("direction"),
        i.str("purpose"),
        i.ts("occurred_at"),
    );
    let mut by_crm: HashMap<&str, Vec<usize>> = HashMap::new();
    for (r, c) in crm.iter().enumerate() {
        if let Some(c) = c {
            by_crm.entry(c.as_str()).or_default().push(r);
        }
    }
    const H: i64 = 3_600_000_000;
    let (lcrm, first) = (l.str("crm_id"), l.ts("first_contact_at"));
    let mut met = [0usize; 3];
    for k in 0..l.len() {
        let t0 = first[k].expect("first_contact_at");
        let rows = by_crm
            .get(lcrm[k].as_deref().unwrap_or(""))
            .cloned()
            .unwrap_or_default();
        let within = |r: usize, hours: i64| at[r].is_some_and(|t| t >= t0 && t <= t0 + hours * H);
        let p = |r: usize, want: &str| purpose[r].as_deref() == Some(want);
        if rows.iter().any(|&r| {
            p(r, "thanks")
                && channel[r].as_deref() == Some("email")
                && direction[r].as_deref() == Some("out")
                && within(r, 3)
        }) {
            met[0] += 1;
        }
        if rows.iter().any(|&r| {
            p(r, "needs_analysis")
                && matches!(channel[r].as_deref(), Some("call" | "meeting" | "visit"))
                && within(r, 7 * 24)
        }) {
            met[1] += 1;
        }
        if rows.iter().any(|&r| p(r, "solution") && within(r, 21 * 24)) {
            met[2] += 1;
        }
    }
    assert!(l.len() > 200, "leads: {}", l.len());
    for (rule, n) in ["thanks_3h", "needs_7d", "solution_21d"].iter().zip(met) {
        let rate = n as f64 / l.len() as f64;
        assert!((0.4..0.95).contains(&rate), "{rule} rate {rate}");
    }
}

#[test]
fn interactions_carry_intents_and_open_flags() {
    let i = read_table(&sample().ods, "ods_interaction");
    let (channel, opened, content, crm, at, ds) = (
        i.str("channel"),
        i.bool("opened"),
        i.str("content"),
        i.str("crm_id"),
        i.ts("occurred_at"),
        i.ds_days(),
    );
    let mut emails = BTreeSet::new();
    for r in 0..i.len() {
        if channel[r].as_deref() == Some("email") {
            emails.insert(opened[r]);
        } else {
            assert_eq!(opened[r], None, "opened is only for e-mails");
        }
    }
    assert_eq!(emails, BTreeSet::from([None, Some(false), Some(true)]));
    let dict: [(&str, [&str; 3]); 3] = [
        ("价格", ["多少钱", "报价", "折扣"]),
        ("技术", ["功能", "api", "集成"]),
        ("服务", ["支持", "维护", "培训"]),
    ];
    let mut intents: BTreeMap<&str, usize> = BTreeMap::new();
    for text in content.iter().flatten() {
        let lower = text.to_lowercase();
        let intent = dict
            .iter()
            .find(|(_, kws)| kws.iter().any(|k| lower.contains(k)))
            .map_or("其他", |(n, _)| n);
        *intents.entry(intent).or_default() += 1;
    }
    assert_eq!(intents.len(), 4, "{intents:?}");
    assert!(intents.values().all(|n| *n > 500), "{intents:?}");
    assert!(content.iter().any(Option::is_none));
    assert!(
        crm.iter().any(Option::is_none),
        "some interactions lack crm_id"
    );

    // Churners fade: some customers active early are silent for the last 60 days.
    let mut last_seen: HashMap<&str, i32> = HashMap::new();
    for r in 0..i.len() {
        if let (Some(c), Some(t)) = (crm[r].as_deref(), at[r]) {
            let e = last_seen.entry(c).or_insert(i32::MIN);
            *e = (*e).max(shanghai_day(t));
        }
        assert!(ds[r] >= shanghai_day(at[r].unwrap_or(0)));
    }
    let silent = last_seen.values().filter(|d| **d < last_day() - 60).count();
    assert!(silent > 20, "silent customers: {silent}");
    let s = read_table(&sample().ods, "ods_competitor_signal");
    let recent_trials = (0..s.len())
        .filter(|&r| s.str("signal_type")[r].as_deref() == Some("trial"))
        .filter(|&r| s.ts("detected_at")[r].is_some_and(|t| shanghai_day(t) > last_day() - 30))
        .count();
    assert!(recent_trials > 0);
}

#[test]
fn customer_records_are_realistically_dirty() {
    let c = read_table(&sample().ods, "ods_crm_customer");
    let (id, kind, size, industry, birthday, created, updated, ds) = (
        c.str("crm_id"),
        c.str("customer_type"),
        c.str("company_size"),
        c.str("industry"),
        c.date("contact_birthday"),
        c.ts("created_at"),
        c.ts("updated_at"),
        c.ds_days(),
    );
    for k in kind.iter().flatten() {
        assert!(
            ["潜在客户", "新客户", "活跃客户", "沉睡客户"].contains(&k.as_str()),
            "{k}"
        );
    }
    for s in size.iter().flatten() {
        assert!(
            ["1-49", "50-199", "200-999", "1000+"].contains(&s.as_str()),
            "{s}"
        );
    }
    assert!(
        size.iter().any(Option::is_none)
            && industry.iter().any(Option::is_none)
            && kind.iter().any(Option::is_none)
    );
    assert!(birthday.iter().filter(|b| b.is_some()).count() as f64 > 0.7 * c.len() as f64);
    let old_but_new = (0..c.len())
        .filter(|&r| {
            kind[r].as_deref() == Some("新客户")
                && ds[r] - shanghai_day(created[r].unwrap_or(0)) > 365
        })
        .count();
    assert!(
        old_but_new > 0,
        "no 新客户 typed for a company created over a year ago"
    );
    let mut versions: HashMap<&str, Vec<(i32, i64)>> = HashMap::new();
    for r in 0..c.len() {
        versions
            .entry(id[r].as_deref().unwrap_or(""))
            .or_default()
            .push((ds[r], updated[r].unwrap_or(0)));
        assert!(updated[r] >= created[r]);
    }
    let relanded = versions.values().filter(|v| v.len() > 1).count();
    assert!(relanded > 100, "re-landed customer records: {relanded}");
    for v in versions.values_mut() {
        v.sort();
        assert!(
            v.windows(2).all(|w| w[0].1 < w[1].1),
            "a later landing has a newer updated_at"
        );
    }

    let s = read_table(&sample().ods, "ods_survey");
    let (kind, score) = (s.str("survey_type"), s.str("score"));
    let padded_valid = (0..s.len())
        .filter(|&r| {
            score[r].as_deref().is_some_and(|x| x.trim() != x)
                && valid_score(kind[r].as_deref(), score[r].as_deref())
        })
        .count();
    assert!(padded_valid > 0, "no valid score typed with spaces");
    let plain = (0..s.len())
        .filter(|&r| {
            score[r].as_deref().is_some_and(|x| x.trim() == x)
                && valid_score(kind[r].as_deref(), score[r].as_deref())
        })
        .count();
    assert!(plain as f64 > 0.8 * s.len() as f64);
}
