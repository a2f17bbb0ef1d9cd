//! Day-by-day fact generation: orders, interactions, surveys, competitor signals, product usage,
//! leads, plus the contracts decided up front.
//!
//! For each event day every customer's expected counts are computed from its rates, the day's
//! seasonality and its vitality (churners fade), and drawn from keyed randomness. Each event is
//! put in the bucket of the day it *lands* (its business date plus a lag of zero to two days;
//! re-landings later). A bucket is complete once its day has been generated, because nothing
//! lands before its event, so only a few weeks of rows are ever held. Rows landing after the
//! window are dropped, and the invalid-row truth only counts versions that land.

use std::collections::BTreeMap;

use super::calendar::{business_day, MINUTE_US};
use super::customers::{at_hours, crm_id, erp_code, rep_id, shop_uid, Customer, World};
use super::lifecycle::{lead, opened};
use super::names::{COMPETITORS, FOREIGN_CURRENCIES, PRODUCT_CATEGORIES, UNKNOWN_CURRENCY};
use super::rng::{key, mix, poisson, rng, unit, Rng, Stream};
use super::rows::{ContractRow, DayRows, InteractionRow, OrderRow, SignalRow, SurveyRow, UsageRow};
use super::text::{comment, content};
use super::truth::{order_reason, reference_reason, score_is_valid, CustomerRef, InvalidRow};

/// Currencies of the fx table (`data/seeds/fx_rates.csv`).
pub(crate) const KNOWN_CURRENCIES: [&str; 6] = ["CNY", "USD", "EUR", "HKD", "JPY", "GBP"];

/// Generator state between days.
pub(crate) struct Facts<'w> {
    world: &'w World,
    pending: BTreeMap<i32, DayRows>,
    next_order: u64,
    next_interaction: u64,
    next_survey: u64,
    next_signal: u64,
    next_lead: u64,
    /// Records whose final landed version must be rejected.
    pub invalid: Vec<InvalidRow>,
    /// Customers with contracts (so with product usage), ascending.
    subscribers: Vec<u32>,
}

impl<'w> Facts<'w> {
    pub fn new(world: &'w World, contracts: Vec<(i32, ContractRow)>) -> Self {
        let subscribers =
            (0..world.customers.len() as u32).filter(|&i| world.customers[i as usize].usage_from <= world.customers[i as usize].usage_to).collect();
        let mut facts = Self {
            world,
            pending: BTreeMap::new(),
            next_order: 1,
            next_interaction: 1,
            next_survey: 1,
            next_signal: 1,
            next_lead: 1,
            invalid: Vec::new(),
            subscribers,
        };
        for (day, row) in contracts {
            if let Some(bucket) = facts.bucket(day) {
                bucket.contracts.push(row);
            }
        }
        facts
    }

    /// The rows landing on `day`, if it is inside the window.
    fn bucket(&mut self, day: i32) -> Option<&mut DayRows> {
        (day <= self.world.cal.last).then(|| self.pending.entry(day).or_default())
    }

    /// Everything that lands on `day`; call after generating every event day up to `day`.
    pub fn take(&mut self, day: i32) -> DayRows {
        self.pending.remove(&day).unwrap_or_default()
    }

    /// Generate the events that happen on `day`.
    pub fn generate_day(&mut self, day: i32) {
        let world = self.world;
        for (i, c) in world.customers.iter().enumerate() {
            let i = i as u32;
            let h = key(world.seed, Stream::Order, u64::from(i), day as u64);
            if c.is_buyer() {
                let lambda = c.order_rate / 365.0 * world.cal.factor(day) * c.vitality(day);
                for n in 0..poisson(lambda, unit(h)) {
                    self.order(c, i, day, &mut rng(mix(h ^ u64::from(n))));
                }
            }
            let Some(crm) = c.crm else { continue };
            if crm.land_day > day {
                continue;
            }
            if c.lead_at.is_some_and(|at| business_day(at) == day) {
                self.lead(i);
            }
            let hi = mix(h ^ 0x1111);
            let weekday = if world.cal.is_weekend(day) { 0.25 } else { 1.3 };
            let subscriber = c.usage_from <= c.usage_to;
            let boost = if subscriber { 1.5 } else { 1.0 };
            let lambda = c.interaction_rate * boost / 365.0 * weekday * c.vitality(day);
            for n in 0..poisson(lambda, unit(hi)) {
                self.interaction(c, &mut rng(mix(hi ^ u64::from(n))), day);
            }
            if c.is_buyer() || subscriber {
                let hs = mix(h ^ 0x2222);
                let lambda = 2.7 / 365.0 * c.vitality(day).max(0.3);
                for n in 0..poisson(lambda, unit(hs)) {
                    self.survey(c, &mut rng(mix(hs ^ u64::from(n))), day);
                }
            }
            let hg = mix(h ^ 0x3333);
            let to_churn = c.churn_day.saturating_sub(day);
            let lambda = (0.25 + if (0..150).contains(&to_churn) { 5.0 } else { 0.0 }) / 365.0;
            for n in 0..poisson(lambda, unit(hg)) {
                self.signal(c, &mut rng(mix(hg ^ u64::from(n))), day, to_churn < 150);
            }
        }
        for idx in 0..self.subscribers.len() {
            let i = self.subscribers[idx];
            self.usage(i, day);
        }
    }

    fn order(&mut self, c: &Customer, _i: u32, day: i32, r: &mut Rng) {
        let world = self.world;
        let rates = &world.rates;
        let landed = |rec: Option<super::customers::SourceRec>| rec.filter(|s| s.land_day <= day);
        let erp = landed(c.erp);
        let shop = match (landed(c.shop), landed(c.shop2)) {
            (Some(a), Some(b)) => Some(if r.chance(0.5) { a } else { b }),
            (a, b) => a.or(b),
        };
        let via_erp = match (erp, shop) {
            (Some(_), Some(_)) => r.chance(c.erp_share),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return,
        };
        let (system, mut customer_id, count) = match (via_erp, erp, shop) {
            (true, Some(e), _) => ("erp", erp_code(e.no), world.erp_count),
            (_, _, Some(s)) => ("shop", shop_uid(s.no), world.shop_count),
            _ => return,
        };
        let orphan = r.chance(rates.orphan_order);
        if orphan {
            let no = count + 1 + r.below(count.max(1000) as usize) as u32;
            customer_id = if via_erp { erp_code(no) } else { shop_uid(no) };
        }
        let cny = if via_erp {
            r.lognormal(6_000.0 * [0.5, 1.0, 2.0, 4.0][c.size as usize], 0.9)
        } else {
            r.lognormal(450.0, 0.8)
        };
        let (mut currency, rate) = match c.currency {
            0 => ("CNY", 1.0),
            k => FOREIGN_CURRENCIES[k as usize - 1],
        };
        if r.chance(rates.unknown_currency) {
            currency = UNKNOWN_CURRENCY;
        }
        let mut amount = ((cny / rate).max(1.0) * 100.0).round() as i128;
        if r.chance(rates.negative_amount) {
            amount = -amount;
        }
        let category = if r.chance(0.6) {
            PRODUCT_CATEGORIES[c.favourite_category as usize]
        } else {
            *r.pick(PRODUCT_CATEGORIES)
        };
        let mut order_time = if via_erp { at_hours(r, day, 9, 18) } else { at_hours(r, day, 8, 24) };
        let updated_at = order_time + r.range(1, 20) * MINUTE_US;
        let landing = business_day(updated_at) + [0, 1, 2][r.weighted(&[0.6, 0.3, 0.1])];
        if r.chance(rates.future_order) {
            let future_day = landing + r.range(1, 15) as i32;
            order_time = at_hours(r, future_day, 9, 20);
        }
        let status = if r.chance(0.95) { "paid" } else { "cancelled" };
        let row = OrderRow {
            order_id: format!("O{:010}", self.next_order),
            source_system: system,
            source_customer_id: customer_id,
            order_time,
            amount,
            currency,
            product_category: category,
            status,
            updated_at,
        };
        self.next_order += 1;
        let mut versions: Vec<(i64, i32, usize)> = Vec::new();
        let mut rows = vec![row];
        if landing <= world.cal.last {
            versions.push((updated_at, landing, 0));
        }
        if r.chance(rates.duplicate_order) {
            let again = landing + i32::from(r.chance(0.5));
            if again <= world.cal.last && landing <= world.cal.last {
                rows.push(rows[0].clone());
                versions.push((updated_at, again, 1));
            }
        }
        if status == "paid" && r.chance(rates.order_status_change) {
            let later = landing + r.range(1, 31) as i32;
            if later <= world.cal.last && landing <= world.cal.last {
                let mut changed = rows[0].clone();
                changed.status = if r.chance(0.7) { "refunded" } else { "cancelled" };
                changed.updated_at = at_hours(r, later, 9, 20).max(updated_at + MINUTE_US);
                versions.push((changed.updated_at, later, rows.len()));
                rows.push(changed);
            }
        }
        if versions.is_empty() {
            return;
        }
        let amounts: Vec<i128> = rows.iter().map(|x| x.amount).collect();
        let currencies: Vec<&str> = rows.iter().map(|x| x.currency).collect();
        if let Some(reason) = order_reason(&versions, orphan, order_time, &amounts, &currencies) {
            self.invalid.push(InvalidRow { table: "ods_order", key: rows[0].order_id.clone(), reason });
        }
        let mut rows: Vec<Option<OrderRow>> = rows.into_iter().map(Some).collect();
        for (_, day, v) in versions {
            if let (Some(bucket), Some(row)) = (self.bucket(day), rows[v].take()) {
                bucket.orders.push(row);
            }
        }
    }

    /// The `crm_id` an interaction or survey carries, possibly dirty.
    fn customer_ref(&self, c: &Customer, r: &mut Rng) -> (CustomerRef, Option<String>) {
        let rates = &self.world.rates;
        let count = self.world.crm_count;
        if r.chance(rates.null_customer_ref) {
            (CustomerRef::Null, None)
        } else if r.chance(rates.unknown_customer_ref) {
            (CustomerRef::Unknown, Some(crm_id(count + 1 + r.below(count.max(1000) as usize) as u32)))
        } else {
            (CustomerRef::Valid, c.crm.map(|x| crm_id(x.no)))
        }
    }

    fn interaction(&mut self, c: &Customer, r: &mut Rng, day: i32) {
        let channel = ["email", "call", "meeting", "chat", "ticket", "visit"][r.weighted(&[0.38, 0.25, 0.07, 0.12, 0.12, 0.06])];
        let outbound = match channel {
            "email" => 0.85,
            "call" => 0.6,
            "meeting" => 0.8,
            "chat" => 0.3,
            "ticket" => 0.05,
            _ => 1.0,
        };
        let direction = if r.chance(outbound) { "out" } else { "in" };
        let purpose = if channel == "ticket" {
            r.chance(0.5).then_some("other")
        } else {
            [Some("care"), Some("other"), None][r.weighted(&[0.35, 0.35, 0.3])]
        };
        let occurred_at = if matches!(channel, "chat" | "ticket") { at_hours(r, day, 8, 22) } else { at_hours(r, day, 9, 19) };
        let rep = if r.chance(0.85) { c.rep } else { r.below(self.world.reps as usize) as u32 };
        let opened = if channel == "email" { opened(r) } else { None };
        let text = (!r.chance(if channel == "call" { 0.3 } else { 0.12 })).then(|| content(r).1);
        let (reference, crm) = self.customer_ref(c, r);
        let landing = day + [0, 1, 2][r.weighted(&[0.7, 0.25, 0.05])];
        let row = InteractionRow {
            interaction_id: format!("I{:010}", self.next_interaction),
            crm_id: crm,
            channel,
            direction,
            purpose,
            occurred_at,
            rep_id: rep_id(rep),
            opened,
            content: text,
        };
        self.next_interaction += 1;
        self.land_interaction(landing, row, reference);
    }

    fn land_interaction(&mut self, landing: i32, row: InteractionRow, reference: CustomerRef) {
        let Some(bucket) = self.bucket(landing) else { return };
        let key = row.interaction_id.clone();
        bucket.interactions.push(row);
        if let Some(reason) = reference_reason(reference, true) {
            self.invalid.push(InvalidRow { table: "ods_interaction", key, reason });
        }
    }

    fn survey(&mut self, c: &Customer, r: &mut Rng, day: i32) {
        let rates = &self.world.rates;
        let nps = r.chance(1.2 / 2.7);
        let health = c.health * c.vitality(day).max(0.5);
        let (survey_type, value) = if nps {
            ("NPS", (3.0 + 7.5 * health + 1.6 * r.normal()).round().clamp(0.0, 10.0) as i64)
        } else {
            ("CSAT", (1.0 + 4.2 * health + 0.8 * r.normal()).round().clamp(1.0, 5.0) as i64)
        };
        let good = if nps { value >= 9 } else { value >= 4 };
        let bad = if nps { value <= 6 } else { value <= 2 };
        let mut score = value.to_string();
        if r.chance(rates.padded_score) {
            score = [format!(" {score}"), format!("{score} "), format!(" {score} ")][r.below(3)].clone();
        }
        let mut mood = if good { Some(true) } else if bad { Some(false) } else { None };
        if r.chance(rates.invalid_score) {
            let typos: &[&str] = if nps {
                &["", "  ", "N/A", "11", "-1", "4.0", "8.5", "十"]
            } else {
                &["", "N/A", "0", "6", "-1", "4.0", " 9", "3.5"]
            };
            score = r.pick(typos).to_string();
            mood = None;
        }
        let valid = score_is_valid(survey_type, &score);
        let (reference, crm) = self.customer_ref(c, r);
        let row = SurveyRow {
            response_id: format!("V{:09}", self.next_survey),
            crm_id: crm,
            survey_type,
            score,
            submitted_at: at_hours(r, day, 8, 23),
            comment: comment(r, mood),
        };
        self.next_survey += 1;
        let landing = day + i32::from(r.chance(0.2));
        let Some(bucket) = self.bucket(landing) else { return };
        let key = row.response_id.clone();
        bucket.surveys.push(row);
        if let Some(reason) = reference_reason(reference, valid) {
            self.invalid.push(InvalidRow { table: "ods_survey", key, reason });
        }
    }

    fn signal(&mut self, c: &Customer, r: &mut Rng, day: i32, churning: bool) {
        let Some(crm) = c.crm else { return };
        let weights = if churning { [0.45, 0.35, 0.2] } else { [0.2, 0.5, 0.3] };
        let row = SignalRow {
            signal_id: format!("G{:08}", self.next_signal),
            crm_id: crm_id(crm.no),
            competitor: *r.pick(COMPETITORS),
            signal_type: ["trial", "quote", "visit"][r.weighted(&weights)],
            detected_at: at_hours(r, day, 9, 20),
        };
        self.next_signal += 1;
        if let Some(bucket) = self.bucket(day + i32::from(r.chance(0.5))) {
            bucket.signals.push(row);
        }
    }

    fn usage(&mut self, i: u32, day: i32) {
        let world = self.world;
        let c = &world.customers[i as usize];
        let Some(crm) = c.crm else { return };
        if day < c.usage_from || day > c.usage_to || day < crm.land_day {
            return;
        }
        let mut r = rng(key(world.seed, Stream::Usage, u64::from(i), day as u64));
        if !r.chance(if world.cal.is_weekend(day) { 0.35 } else { 0.97 }) {
            return;
        }
        // One in ten customers has a 40-day dip in usage somewhere in the window.
        let dip_key = key(world.seed, Stream::Usage, u64::from(i), u64::MAX);
        let span = i64::from(world.cal.last - world.cal.first + 1);
        let dip_start = world.cal.first + (dip_key % span as u64) as i32;
        let dip = dip_key % 10 == 0 && (dip_start..dip_start + 40).contains(&day);
        let level = c.vitality(day) * if dip { 0.45 } else { 1.0 } * (0.55 + 0.4 * r.f());
        let active_users = (f64::from(c.seats) * level).round() as i32;
        if active_users <= 0 {
            return;
        }
        let events = i64::from(active_users) * r.range(15, 61);
        if let Some(bucket) = self.bucket(day + 1) {
            bucket.usage.push(UsageRow { crm_id: crm_id(crm.no), usage_date: day, active_users, events });
        }
    }

    fn lead(&mut self, i: u32) {
        let Some(events) = lead(self.world, i, self.next_lead) else { return };
        self.next_lead += 1;
        if let Some(bucket) = self.bucket(events.lead_landing) {
            bucket.leads.push(events.lead);
        }
        for (landing, mut row) in events.followups {
            row.interaction_id = format!("I{:010}", self.next_interaction);
            self.next_interaction += 1;
            self.land_interaction(landing, row, CustomerRef::Valid);
        }
    }
}
