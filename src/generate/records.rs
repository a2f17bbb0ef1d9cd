//! Customer source records (CRM, shop, ERP): when each version lands and what it says.
//!
//! A record's *shape* (which phone, whether it carries the e-mail, how the name is written) is
//! fixed per record; each *version* re-draws formatting and edits (owner reassigned, size
//! filled in, e-mail case). Solvability invariant: every record shares at least one of
//! normalized phone, e-mail or company name with its customer's anchor record (the CRM record,
//! else the shop record, else ERP), because a record that would share nothing is forced to
//! carry the company name.

use super::calendar::{business_day, instant};
use super::customers::{Customer, SourceRec, World, at_hours};
use super::hostile::{
    ExtraAccount, disguise_email, disguise_name, disguise_phone, placeholder_email,
};
use super::identity::{
    contact_name, email_variant, format_landline, format_mobile, landline_parts, mobile_digits,
};
use super::ids::{crm_id, erp_code, rep_id, shop_uid};
use super::names::{CITIES, COMPANY_SIZES, INDUSTRIES};
use super::rng::{Rng, Stream, key, rng};
use super::rows::{CrmRow, DayRows, ErpRow, ShopRow};

/// The source a record lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Src {
    Crm = 0,
    Shop = 1,
    Shop2 = 2,
    Erp = 3,
}

/// One version of one record landing on one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Landing {
    pub day: i32,
    pub src: Src,
    pub customer: u32,
    pub version: u8,
}

/// Every landing of every customer record that falls in the window, sorted by day.
pub(crate) fn schedule(world: &World) -> Vec<Landing> {
    let mut out = Vec::new();
    for (i, c) in world.customers.iter().enumerate() {
        for (src, rec) in [
            (Src::Crm, c.crm),
            (Src::Shop, c.shop),
            (Src::Shop2, c.shop2),
            (Src::Erp, c.erp),
        ] {
            let Some(rec) = rec else { continue };
            let customer = i as u32;
            out.push(Landing {
                day: rec.land_day,
                src,
                customer,
                version: 0,
            });
            let mut r = rng(key(
                world.seed,
                Stream::Version,
                record_key(customer, src),
                99,
            ));
            let mut day = rec.land_day;
            for version in 1..=2u8 {
                if day >= world.cal.last || !r.chance(world.rates.customer_relanding) {
                    break;
                }
                day = r.range(i64::from(day) + 1, i64::from(world.cal.last) + 1) as i32;
                out.push(Landing {
                    day,
                    src,
                    customer,
                    version,
                });
            }
        }
    }
    out.sort_unstable();
    out
}

fn record_key(customer: u32, src: Src) -> u64 {
    u64::from(customer) * 4 + src as u64
}

/// Which matching signals a record carries.
#[derive(Clone, Copy, Default)]
struct Signals {
    mobile: bool,
    landline: bool,
    email: bool,
    name: bool,
}

impl Signals {
    fn shares(self, other: Signals) -> bool {
        (self.mobile && other.mobile)
            || (self.landline && other.landline)
            || (self.email && other.email)
            || (self.name && other.name)
    }
}

/// How a shop account shows its customer.
#[derive(Clone, Copy)]
struct ShopShape {
    /// Uses the customer's second mobile.
    second_mobile: bool,
    email: bool,
    /// 0: company name variant, 1: short name, 2: short name and contact.
    display: u8,
}

/// What the ERP record's `tel` is.
#[derive(Clone, Copy, PartialEq)]
enum Tel {
    Landline,
    Mobile,
    Missing,
}

/// The shop account's own draws, before the solvability rule.
fn shop_draws(world: &World, customer: u32, src: Src) -> ShopShape {
    let c = &world.customers[customer as usize];
    let mut r = rng(key(world.seed, Stream::Shape, record_key(customer, src), 0));
    let second_mobile = if src == Src::Shop2 {
        true
    } else {
        c.crm.is_some() && r.chance(world.rates.second_mobile)
    };
    let email = r.chance(if c.crm.is_some() { 0.7 } else { 0.6 });
    let display = match r.f() {
        x if x < 0.75 => 0,
        x if x < 0.85 => 1,
        _ => 2,
    };
    ShopShape {
        second_mobile,
        email,
        display,
    }
}

/// The shop account's shape after the solvability rule.
fn shop_shape(world: &World, customer: u32, src: Src) -> ShopShape {
    let c = &world.customers[customer as usize];
    let mut shape = shop_draws(world, customer, src);
    let mine = Signals {
        mobile: !shape.second_mobile,
        landline: false,
        email: shape.email,
        name: shape.display == 0,
    };
    match anchor_signals(world, c, customer, src) {
        Some(anchor) if !mine.shares(anchor) => shape.display = 0,
        // The anchor shop record of a customer known elsewhere always names the company.
        None if c.shop2.is_some() || c.erp.is_some() => shape.display = 0,
        _ => {}
    }
    shape
}

fn erp_tel(world: &World, customer: u32) -> Tel {
    let c = &world.customers[customer as usize];
    let mut r = rng(key(
        world.seed,
        Stream::Shape,
        record_key(customer, Src::Erp),
        0,
    ));
    match r.f() {
        x if x < 0.5 => Tel::Landline,
        x if x < 0.8 => Tel::Mobile,
        _ if c.crm.is_none() && c.shop.is_none() => Tel::Landline,
        _ => Tel::Missing,
    }
}

/// The signals of the anchor record that `src` must share with; `None` when `src` is the anchor.
fn anchor_signals(world: &World, c: &Customer, customer: u32, src: Src) -> Option<Signals> {
    if c.crm.is_some() {
        return (src != Src::Crm).then_some(Signals {
            mobile: !c.crm_landline,
            landline: c.crm_landline,
            email: true,
            name: true,
        });
    }
    if c.shop.is_some() {
        if src == Src::Shop {
            return None;
        }
        let anchor = shop_draws(world, customer, Src::Shop);
        return Some(Signals {
            mobile: !anchor.second_mobile,
            landline: false,
            email: anchor.email,
            name: true,
        });
    }
    None
}

fn home_city(c: &Customer) -> u8 {
    c.company.branch.unwrap_or(c.company.city)
}

fn updated_at(world: &World, rec: &SourceRec, landing: &Landing, r: &mut Rng) -> i64 {
    if landing.version > 0 {
        return at_hours(r, landing.day, 9, 20);
    }
    let window_start = instant(world.cal.first, 0);
    if rec.created < window_start {
        rec.created + ((window_start - rec.created) as f64 * r.f()) as i64
    } else {
        rec.created
    }
}

/// Append the row of one landing to the day's rows.
pub(crate) fn render(world: &World, landing: &Landing, out: &mut DayRows) {
    let c = &world.customers[landing.customer as usize];
    let rates = &world.rates;
    let rk = record_key(landing.customer, landing.src);
    let mut shape = rng(key(world.seed, Stream::Shape, rk, 1));
    let mut v = rng(key(
        world.seed,
        Stream::Version,
        rk,
        u64::from(landing.version),
    ));
    let vary_phone = v.chance(rates.phone_format);
    // Hostile disguises draw from their own stream, so the default profile is unchanged.
    let hr = &rates.hostile;
    let mut h = rng(key(
        world.seed,
        Stream::Hostile,
        rk,
        1 + u64::from(landing.version),
    ));
    let primary = mobile_digits(u64::from(landing.customer) * 2, world.phone_salt);
    let city = &CITIES[home_city(c) as usize];
    match landing.src {
        Src::Crm => {
            let Some(rec) = c.crm else { return };
            let phone = if c.crm_landline {
                let (area, number) =
                    landline_parts(home_city(c), u64::from(landing.customer), world.phone_salt);
                format_landline(area, &number, &mut v, vary_phone)
            } else {
                format_mobile(&primary, &mut v, vary_phone)
            };
            let mut name = c.company.variant(&mut shape, rates.name_variant);
            if landing.version > 0 && v.chance(0.3) {
                name = c.company.variant(&mut v, rates.name_variant);
            }
            let reassigned = shape
                .chance(0.3)
                .then(|| (c.rep + 1 + shape.below(world.reps as usize - 1) as u32) % world.reps);
            let rep = match reassigned {
                Some(other) if landing.version > 0 => other,
                _ => c.rep,
            };
            let created_day = business_day(rec.created);
            let typed = customer_type(c, created_day, landing.day);
            let customer_type = if v.chance(rates.missing_customer_type) {
                None
            } else if landing.day - created_day >= 365 && v.chance(rates.wrong_customer_type) {
                Some("新客户")
            } else {
                Some(typed)
            };
            let email = email_variant(&c.email, &mut v, rates.email_variant);
            out.crm.push(CrmRow {
                crm_id: crm_id(rec.no),
                company_name: disguise_name(name, &mut h, hr),
                contact_name: contact_name(c.surname, c.given),
                phone: disguise_phone(phone, &mut h, hr),
                email: disguise_email(email, &mut h, hr),
                industry: (!v.chance(rates.missing_industry))
                    .then_some(INDUSTRIES[c.company.industry as usize].name),
                province: city.province,
                city: city.name,
                company_size: (!v.chance(rates.missing_company_size))
                    .then_some(COMPANY_SIZES[c.size as usize].0),
                customer_type,
                owner_rep: rep_id(rep),
                contact_birthday: c.birthday,
                created_at: rec.created,
                updated_at: updated_at(world, &rec, landing, &mut v),
            });
        }
        Src::Shop | Src::Shop2 => {
            let rec = if landing.src == Src::Shop {
                c.shop
            } else {
                c.shop2
            };
            let Some(rec) = rec else { return };
            let mut s = shop_shape(world, landing.customer, landing.src);
            // A placeholder e-mail on an account that is not the anchor; it then names its
            // company, so it still shares a key with the anchor.
            let mut hs = rng(key(world.seed, Stream::Hostile, rk, 0));
            let placeholder = (c.crm.is_some() || landing.src == Src::Shop2)
                && s.email
                && hs.chance(hr.placeholder);
            if placeholder {
                s.display = 0;
            }
            let mobile = if s.second_mobile {
                mobile_digits(u64::from(landing.customer) * 2 + 1, world.phone_salt)
            } else {
                primary
            };
            let display_name = match s.display {
                0 => c.company.variant(&mut shape, rates.name_variant),
                1 => c.company.short(),
                _ => format!("{}-{}", c.company.short(), contact_name(c.surname, c.given)),
            };
            let email = s
                .email
                .then(|| email_variant(&c.email, &mut v, rates.email_variant));
            let email = if placeholder {
                Some(placeholder_email(&mut hs))
            } else {
                email.map(|e| disguise_email(e, &mut h, hr))
            };
            out.shop.push(ShopRow {
                shop_uid: shop_uid(rec.no),
                display_name: disguise_name(display_name, &mut h, hr),
                mobile: disguise_phone(format_mobile(&mobile, &mut v, vary_phone), &mut h, hr),
                email,
                city: shape.chance(0.8).then_some(city.name),
                registered_at: rec.created,
                updated_at: updated_at(world, &rec, landing, &mut v),
            });
        }
        Src::Erp => {
            let Some(rec) = c.erp else { return };
            let tel = match erp_tel(world, landing.customer) {
                Tel::Landline => {
                    let (area, number) =
                        landline_parts(home_city(c), u64::from(landing.customer), world.phone_salt);
                    Some(format_landline(area, &number, &mut v, vary_phone))
                }
                Tel::Mobile => Some(format_mobile(&primary, &mut v, vary_phone)),
                Tel::Missing => None,
            }
            .map(|t| disguise_phone(t, &mut h, hr));
            let province = match shape.f() {
                x if x < 0.5 => Some(city.province),
                x if x < 0.95 => Some(city.province_short),
                _ => None,
            };
            out.erp.push(ErpRow {
                erp_code: erp_code(rec.no),
                legal_name: disguise_name(
                    c.company.variant(&mut shape, rates.name_variant * 0.4),
                    &mut h,
                    hr,
                ),
                short_name: shape.chance(0.7).then(|| c.company.short()),
                tel,
                industry: (!v.chance(rates.missing_industry))
                    .then_some(INDUSTRIES[c.company.industry as usize].name),
                province,
                updated_at: updated_at(world, &rec, landing, &mut v),
            });
        }
    }
}

/// The customer type sales would type on `day` (before any typing mistakes).
fn customer_type(c: &Customer, created_day: i32, day: i32) -> &'static str {
    if !c.is_buyer() {
        "潜在客户"
    } else if day - created_day < 90 {
        "新客户"
    } else if day >= c.churn_day {
        "沉睡客户"
    } else {
        "活跃客户"
    }
}

/// Append the row of a hostile profile's extra shop account (it lands once, as registered).
pub(crate) fn render_extra(a: &ExtraAccount, out: &mut DayRows) {
    out.shop.push(ShopRow {
        shop_uid: shop_uid(a.no),
        display_name: a.display.clone(),
        mobile: a.mobile.clone(),
        email: a.email.clone(),
        city: None,
        registered_at: a.registered,
        updated_at: a.registered,
    });
}
