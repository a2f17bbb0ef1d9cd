//! The population of real customers: identity, source presence, lifecycle and activity.
//!
//! Built once, in memory (about 150 bytes per customer), before any day is generated. Per real
//! customer it fixes which sources know it (CRM, shop, ERP) and when each source record was
//! created; source ids are numbered in creation order. Invariants the facts rely on:
//! - a source record lands on the business date it was created (or on the first landing day if
//!   it predates the window), so it lands no later than any fact that references it;
//! - distinct real customers never share a phone, an e-mail or a normalized company name.

use std::collections::HashSet;

use super::DirtyRates;
use super::calendar::{Calendar, DAY_US, HOUR_US, MINUTE_US, business_day, instant};
use super::hostile::{ExtraAccount, extra_accounts};
use super::identity::CompanyName;
use super::names::{
    BRAND_CHARS, CITIES, COMPANY_SIZES, FOREIGN_CURRENCIES, GIVEN_NAMES, INDUSTRIES,
    LEGAL_SUFFIXES, MAIL_PROVIDERS, PRODUCT_CATEGORIES, SURNAMES,
};
use super::plan::Plan;
use super::rng::{Rng, Stream, key, mix, rng};

/// One source record of a real customer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SourceRec {
    /// Sequence number in its source (`C000123`, `S0004567`, `E00089`).
    pub no: u32,
    /// Creation instant (CRM `created_at`, shop `registered_at`, first ERP `updated_at`).
    pub created: i64,
    /// The day its first version lands.
    pub land_day: i32,
}

/// A real customer (the thing `true_customer_key` names).
pub(crate) struct Customer {
    pub company: CompanyName,
    pub surname: u8,
    pub given: u8,
    /// Canonical e-mail (lower case, no spaces); unique among customers.
    pub email: Box<str>,
    /// The CRM phone is the office landline rather than the contact's mobile.
    pub crm_landline: bool,
    /// Index into `COMPANY_SIZES`.
    pub size: u8,
    /// Owner rep number (0-based).
    pub rep: u32,
    pub birthday: Option<i32>,
    pub crm: Option<SourceRec>,
    pub shop: Option<SourceRec>,
    pub shop2: Option<SourceRec>,
    pub erp: Option<SourceRec>,
    /// Expected orders per year while active (Pareto); 0 for prospects.
    pub order_rate: f64,
    /// Share of orders placed through ERP when both ERP and shop are available.
    pub erp_share: f64,
    /// Day the customer churns (activity fades over the 90 days before); `i32::MAX` if never.
    pub churn_day: i32,
    /// Satisfaction in [0, 1], drives survey scores.
    pub health: f64,
    /// Expected interactions per year while active.
    pub interaction_rate: f64,
    /// 0 for CNY, else 1 + index into `FOREIGN_CURRENCIES`.
    pub currency: u8,
    /// Index into `PRODUCT_CATEGORIES` of the usual category.
    pub favourite_category: u8,
    /// Days covered by the customer's contracts (`usage_from > usage_to` when none).
    pub usage_from: i32,
    pub usage_to: i32,
    /// Licensed seats, drives product usage.
    pub seats: u16,
    /// The lead's first contact, if the customer has a lead in the window.
    pub lead_at: Option<i64>,
    /// The customer-success plan, if enrolled (decided with the contracts).
    pub plan: Option<Plan>,
}

impl Customer {
    /// Whether the customer can place orders at all.
    pub fn is_buyer(&self) -> bool {
        self.order_rate > 0.0
    }

    /// The fading factor of activity on `day`: 1 while healthy, falling linearly over the 90
    /// days before churn, a small residue after.
    #[inline]
    pub fn vitality(&self, day: i32) -> f64 {
        vitality(self.churn_day, day)
    }
}

/// See [`Customer::vitality`].
#[inline]
pub(crate) fn vitality(churn_day: i32, day: i32) -> f64 {
    let to_churn = churn_day.saturating_sub(day);
    if to_churn >= 90 {
        1.0
    } else if to_churn > 0 {
        0.04 + 0.96 * f64::from(to_churn) / 90.0
    } else {
        0.02
    }
}

/// Everything the day generator needs: options, calendar and population.
pub(crate) struct World {
    pub seed: u64,
    pub rates: DirtyRates,
    pub cal: Calendar,
    pub customers: Vec<Customer>,
    pub reps: u32,
    pub crm_count: u32,
    pub shop_count: u32,
    pub erp_count: u32,
    /// Salts of the phone bijections.
    pub phone_salt: u64,
    /// Shop accounts of the hostile profile's extra customers, in landing order.
    pub extras: Vec<ExtraAccount>,
}

impl World {
    /// Build the population of `n` real customers.
    pub fn build(seed: u64, n: usize, cal: Calendar, rates: DirtyRates) -> Self {
        let reps = u32::try_from(n.div_ceil(150).max(4)).unwrap_or(u32::MAX);
        let mut names = HashSet::with_capacity(n);
        let mut emails = HashSet::with_capacity(n);
        let mut customers: Vec<Customer> = (0..n)
            .map(|i| draw_customer(seed, i as u64, &cal, &rates, reps, &mut names, &mut emails))
            .collect();
        let crm_count = number(&mut customers, |c| &mut c.crm, |_| None);
        let shop_count = number(&mut customers, |c| &mut c.shop, |c| c.shop2.as_mut());
        let erp_count = number(&mut customers, |c| &mut c.erp, |_| None);
        let phone_salt = key(seed, Stream::Salt, 0, 0);
        let extras = extra_accounts(seed, n, shop_count, &cal, &rates.hostile, phone_salt);
        Self {
            seed,
            rates,
            cal,
            customers,
            reps,
            crm_count,
            shop_count,
            erp_count,
            phone_salt,
            extras,
        }
    }
}

/// Number one source's records 1.. in creation order (ties by customer); returns the count.
fn number(
    customers: &mut [Customer],
    main: fn(&mut Customer) -> &mut Option<SourceRec>,
    extra: fn(&mut Customer) -> Option<&mut SourceRec>,
) -> u32 {
    let mut order: Vec<(i64, u32, u8)> = Vec::new();
    for (i, c) in customers.iter_mut().enumerate() {
        if let Some(r) = main(c) {
            order.push((r.created, i as u32, 0));
        }
        if let Some(r) = extra(c) {
            order.push((r.created, i as u32, 1));
        }
    }
    order.sort_unstable();
    for (no, (_, i, which)) in order.iter().enumerate() {
        let c = &mut customers[*i as usize];
        let rec = if *which == 0 {
            main(c).as_mut()
        } else {
            extra(c)
        };
        if let Some(r) = rec {
            r.no = no as u32 + 1;
        }
    }
    order.len() as u32
}

/// A business-hours instant on `day` between local hours `from` and `to`.
pub(crate) fn at_hours(rng: &mut Rng, day: i32, from: i64, to: i64) -> i64 {
    instant(
        day,
        rng.range(from * HOUR_US, to * HOUR_US) / MINUTE_US * MINUTE_US
            + rng.range(0, 60) * 1_000_000,
    )
}

fn source(cal: &Calendar, created: i64) -> Option<SourceRec> {
    let day = business_day(created);
    (day <= cal.last).then(|| SourceRec {
        no: 0,
        created,
        land_day: day.max(cal.first),
    })
}

fn draw_customer(
    seed: u64,
    k: u64,
    cal: &Calendar,
    rates: &DirtyRates,
    reps: u32,
    names: &mut HashSet<u64>,
    emails: &mut HashSet<u64>,
) -> Customer {
    let mut r = rng(key(seed, Stream::Population, k, 0));
    let city_w: Vec<f64> = CITIES.iter().map(|c| c.weight).collect();
    let size = r.weighted(&COMPANY_SIZES.iter().map(|s| s.1).collect::<Vec<_>>()) as u8;
    let company = draw_company(&mut r, &city_w, size, names);

    // Which sources know the customer.
    let kind = r.f();
    let (in_crm, in_shop, in_erp) = if kind < 0.86 {
        (true, r.chance(0.35), r.chance(0.5))
    } else if kind < 0.94 {
        (false, true, r.chance(0.1))
    } else {
        (false, false, true)
    };

    // When the customer first appeared: three quarters before the window.
    let window = i64::from(cal.last - cal.first + 1);
    let first_day = if r.chance(0.75) {
        cal.first - r.range(1, 3 * 365) as i32
    } else {
        cal.first + r.range(0, window) as i32
    };
    let created = at_hours(&mut r, first_day, 9, 19);
    let crm = if in_crm { source(cal, created) } else { None };
    let shop = if in_shop {
        let offset = if in_crm { r.range(-300, 200) } else { 0 };
        source(cal, at_hours(&mut r, first_day + offset as i32, 8, 23))
    } else {
        None
    };
    let erp = if in_erp {
        let offset = if in_crm || in_shop { r.range(0, 60) } else { 0 };
        source(cal, at_hours(&mut r, first_day + offset as i32, 9, 18))
    } else {
        None
    };
    let shop2 = match shop {
        Some(s) if r.chance(rates.second_shop_account) => source(
            cal,
            s.created + r.range(30, 400) * DAY_US + r.range(0, 10 * HOUR_US),
        ),
        _ => None,
    };

    let surname = r.below(SURNAMES.len()) as u8;
    let given = r.below(GIVEN_NAMES.len()) as u8;
    let email = draw_email(&mut r, seed, k, &company, surname, given, emails);
    let birthday = r.chance(0.85).then(|| -1800 + r.range(0, 35 * 365) as i32);

    let buyer = shop.is_some() || erp.is_some();
    let order_rate = if buyer {
        // Pareto(alpha 1.5): a few customers buy a lot.
        let base = if erp.is_some() { 12.0 } else { 7.0 };
        (base / (1.0 - r.f()).powf(1.0 / 1.5)).min(1500.0)
    } else {
        0.0
    };
    let start = business_day(created).max(cal.first);
    let churn_day = if buyer && r.chance(0.18) {
        (cal.first + 45 + r.range(0, window + 45) as i32).max(start + 60)
    } else {
        i32::MAX
    };
    let mut health = 0.45 + 0.55 * r.f();
    if churn_day != i32::MAX {
        health *= 0.6;
    }
    let interaction_rate = if in_crm {
        [5.0, 8.0, 14.0, 22.0][size as usize] * r.lognormal(1.0, 0.4)
    } else {
        0.0
    };
    let currency = if r.chance(0.04) {
        1 + r.below(FOREIGN_CURRENCIES.len()) as u8
    } else {
        0
    };
    let seats = match size {
        0 => r.range(3, 16),
        1 => r.range(10, 61),
        2 => r.range(30, 201),
        _ => r.range(100, 601),
    } as u16;
    let lead_at = match crm {
        Some(c) if c.created >= instant(cal.first, 0) => {
            Some(c.created + r.range(1, 30) * MINUTE_US)
        }
        Some(_) if r.chance(0.06) => {
            let day = cal.first + r.range(0, window) as i32;
            Some(at_hours(&mut r, day, 9, 18))
        }
        _ => None,
    };
    Customer {
        company,
        surname,
        given,
        email,
        crm_landline: r.chance([0.1, 0.2, 0.3, 0.4][size as usize]),
        size,
        rep: r.below(reps as usize) as u32,
        birthday,
        crm,
        shop,
        shop2,
        erp,
        order_rate,
        erp_share: if erp.is_some() && shop.is_some() {
            0.4 + 0.5 * r.f()
        } else {
            0.0
        },
        churn_day,
        health,
        interaction_rate,
        currency,
        favourite_category: r.below(PRODUCT_CATEGORIES.len()) as u8,
        usage_from: 1,
        usage_to: 0,
        seats,
        lead_at,
        plan: None,
    }
}

/// A company name whose normalized base no other customer has.
fn draw_company(r: &mut Rng, city_w: &[f64], size: u8, names: &mut HashSet<u64>) -> CompanyName {
    let industry_w: Vec<f64> = INDUSTRIES.iter().map(|i| i.weight).collect();
    let suffix_w: Vec<f64> = LEGAL_SUFFIXES.iter().map(|s| s.1).collect();
    let city = r.weighted(city_w) as u8;
    let branch = if size >= 2 && r.chance(0.12) {
        let b = r.weighted(city_w) as u8;
        (b != city).then_some(b)
    } else {
        None
    };
    let mut company = CompanyName {
        city,
        brand: [0, 0],
        industry: r.weighted(&industry_w) as u8,
        word: 0,
        bracket: r.chance(0.2),
        suffix: r.weighted(&suffix_w) as u8,
        branch,
    };
    for attempt in 0..64 {
        let a = r.below(BRAND_CHARS.len());
        let b = (a + 1 + r.below(BRAND_CHARS.len() - 1)) % BRAND_CHARS.len();
        company.brand = [a as u8, b as u8];
        if attempt > 8 {
            company.industry = r.weighted(&industry_w) as u8;
        }
        company.word = r.below(INDUSTRIES[company.industry as usize].words.len()) as u8;
        if names.insert(company.identity_key()) {
            break;
        }
    }
    company
}

/// A unique e-mail: personal mailbox or company domain.
fn draw_email(
    r: &mut Rng,
    seed: u64,
    k: u64,
    company: &CompanyName,
    surname: u8,
    given: u8,
    emails: &mut HashSet<u64>,
) -> Box<str> {
    let (_, sp) = SURNAMES[surname as usize];
    let (_, gp) = GIVEN_NAMES[given as usize];
    let local = match r.below(5) {
        0 => format!("{sp}{gp}"),
        1 => format!("{gp}.{sp}"),
        2 => format!("{}{gp}", &sp[..1]),
        3 => format!("{sp}.{gp}"),
        _ => format!("{sp}{gp}{}", r.range(70, 100)),
    };
    let domain = if r.chance(0.45) {
        let brand = format!(
            "{}{}",
            BRAND_CHARS[company.brand[0] as usize].1, BRAND_CHARS[company.brand[1] as usize].1
        );
        let city = CITIES[company.city as usize].abbr.to_ascii_lowercase();
        let tail = ["", "tech", "group", "-"][r.below(4)];
        let tail = if tail == "-" {
            format!("-{city}")
        } else {
            tail.to_string()
        };
        format!("{brand}{tail}{}", [".com", ".cn", ".com.cn"][r.below(3)])
    } else {
        MAIL_PROVIDERS[r.weighted(&MAIL_PROVIDERS.iter().map(|m| m.1).collect::<Vec<_>>())]
            .0
            .to_string()
    };
    let mut local = if domain == "qq.com" {
        r.range(100_000, 3_000_000_000).to_string()
    } else {
        local
    };
    let mut extra = key(seed, Stream::Email, k, 0);
    loop {
        let email = format!("{local}@{domain}");
        if emails.insert(hash_str(&email)) {
            return email.into_boxed_str();
        }
        extra = mix(extra);
        local.push(char::from(b'0' + (extra % 10) as u8));
    }
}

/// A deterministic 64-bit hash of a string (FNV-1a, then mixed).
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}
