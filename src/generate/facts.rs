//! Day-by-day fact generation: orders, interactions, surveys, competitor signals, product usage,
//! leads, plus the contracts and customer-success plan assignments decided up front. Plan B's
//! planted NPS effect is applied here (`plan`).
//!
//! For each event day every customer's expected counts are computed from its rates, the day's
//! seasonality and its vitality (churners fade), and drawn from keyed randomness. Each event is
//! put in the bucket of the day it *lands* (its business date plus a lag of zero to two days;
//! re-landings later). A bucket is complete once its day has been generated, because nothing
//! lands before its event, so only a few weeks of rows are ever held. Rows landing after the
//! window are dropped, and the invalid-row truth only counts versions that land.

use std::collections::BTreeMap;

use super::calendar::{MINUTE_US, business_day};
use super::customers::{Customer, World, at_hours, vitality};
use super::ids::Id;
use super::lifecycle::{lead, opened};
use super::names::{COMPETITORS, FOREIGN_CURRENCIES, PRODUCT_CATEGORIES, UNKNOWN_CURRENCY};
use super::plan::PLAN_B_NPS_LIFT;
use super::rng::{Rng, Stream, key, mix, poisson, rng, unit};
use super::rows::{
    ContractRow, DayRows, InteractionRow, OrderRow, PlanRow, Score, SignalRow, SurveyRow, UsageRow,
};
use super::text::{comment, content};
use super::truth::{CustomerRef, InvalidRow, order_reason, reference_reason, score_is_valid};

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
    subscribers: Vec<Subscriber>,
    /// The per-customer fields the daily loop reads, packed (by customer index).
    hot: Vec<Hot>,
}

/// A customer with contracts, as the usage generator needs it.
#[derive(Clone, Copy)]
struct Subscriber {
    customer: u32,
    crm_no: u32,
    /// First and last day with usage (contract coverage from the CRM landing on).
    from: i32,
    to: i32,
    churn_day: i32,
    seats: u16,
    /// Start of a 40-day usage dip (one in ten customers has one), else `i32::MAX`.
    dip_start: i32,
}

impl Subscriber {
    fn of(world: &World, i: usize, c: &Customer) -> Option<Self> {
        let crm = c.crm?;
        if c.usage_from > c.usage_to {
            return None;
        }
        let dip_key = key(world.seed, Stream::Usage, i as u64, u64::MAX);
        let span = u64::try_from(world.cal.last - world.cal.first + 1).unwrap_or(1);
        let dip_start = if dip_key.is_multiple_of(10) {
            world.cal.first + (dip_key % span) as i32
        } else {
            i32::MAX
        };
        Some(Subscriber {
            customer: i as u32,
            crm_no: crm.no,
            from: c.usage_from.max(crm.land_day),
            to: c.usage_to,
            churn_day: c.churn_day,
            seats: c.seats,
            dip_start,
        })
    }
}

/// What the daily loop needs of a customer, packed so that a pass over a million customers
/// stays in cache-friendly memory.
#[derive(Clone, Copy)]
struct Hot {
    /// Expected orders per day at activity factor 1 (0 for prospects).
    orders_per_day: f32,
    /// Expected interactions per weekday-adjusted day (0 without CRM).
    interactions_per_day: f32,
    churn_day: i32,
    /// Landing day of the CRM record (`i32::MAX` without one).
    crm_land: i32,
    /// Business day of the lead's first contact (`i32::MAX` without a lead).
    lead_day: i32,
    /// Buyers and subscribers answer surveys.
    surveyed: bool,
}

impl Hot {
    fn of(c: &Customer) -> Self {
        let subscriber = c.usage_from <= c.usage_to;
        let boost = if subscriber { 1.5 } else { 1.0 };
        Hot {
            orders_per_day: (c.order_rate / 365.0) as f32,
            interactions_per_day: (c.interaction_rate * boost / 365.0) as f32,
            churn_day: c.churn_day,
            crm_land: c.crm.map_or(i32::MAX, |r| r.land_day),
            lead_day: c.lead_at.map_or(i32::MAX, business_day),
            surveyed: c.is_buyer() || subscriber,
        }
    }
}

impl<'w> Facts<'w> {
    pub fn new(
        world: &'w World,
        contracts: Vec<(i32, ContractRow)>,
        plans: Vec<(i32, PlanRow)>,
    ) -> Self {
        let subscribers = world
            .customers
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Subscriber::of(world, i, c))
            .collect();
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
            hot: world.customers.iter().map(Hot::of).collect(),
        };
        for (day, row) in contracts {
            if let Some(bucket) = facts.bucket(day) {
                bucket.contracts.push(row);
            }
        }
        for (day, row) in plans {
            if let Some(bucket) = facts.bucket(day) {
                bucket.plans.push(row);
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
        let day_key = key(world.seed, Stream::Order, day as u64, 0);
        let factor = world.cal.factor(day);
        let weekday = if world.cal.is_weekend(day) { 0.25 } else { 1.3 };
        let hot = std::mem::take(&mut self.hot);
        for (i, h) in hot.iter().enumerate() {
            // A SplitMix64 stream over customers, keyed by the day.
            let k = mix(day_key.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)));
            let vitality = vitality(h.churn_day, day);
            let c = &world.customers[i];
            if h.orders_per_day > 0.0 {
                let lambda = f64::from(h.orders_per_day) * factor * vitality;
                for n in 0..poisson(lambda, unit(k)) {
                    self.order(c, day, &mut rng(mix(k ^ u64::from(n))));
                }
            }
            if h.crm_land > day {
                continue;
            }
            if h.lead_day == day {
                self.lead(i as u32);
            }
            let ki = mix(k ^ 0x1111);
            let lambda = f64::from(h.interactions_per_day) * weekday * vitality;
            for n in 0..poisson(lambda, unit(ki)) {
                self.interaction(c, &mut rng(mix(ki ^ u64::from(n))), day);
            }
            if h.surveyed {
                let ks = mix(k ^ 0x2222);
                let lambda = 2.7 / 365.0 * vitality.max(0.3);
                for n in 0..poisson(lambda, unit(ks)) {
                    self.survey(c, &mut rng(mix(ks ^ u64::from(n))), day);
                }
            }
            let kg = mix(k ^ 0x3333);
            let to_churn = h.churn_day.saturating_sub(day);
            // Competitors circle churners during their last five months.
            let churn_boost = if (0..150).contains(&to_churn) {
                5.0
            } else {
                0.0
            };
            let lambda = (0.25 + churn_boost) / 365.0;
            for n in 0..poisson(lambda, unit(kg)) {
                self.signal(c, &mut rng(mix(kg ^ u64::from(n))), day, to_churn < 150);
            }
        }
        self.hot = hot;
        for idx in 0..self.subscribers.len() {
            let sub = self.subscribers[idx];
            self.usage(sub, day);
        }
    }

    fn order(&mut self, c: &Customer, day: i32, r: &mut Rng) {
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
        let (source, mut customer_no, count) = match (via_erp, erp, shop) {
            (true, Some(e), _) => (Id::Erp, e.no, world.erp_count),
            (_, _, Some(s)) => (Id::Shop, s.no, world.shop_count),
            _ => return,
        };
        let orphan = r.chance(rates.orphan_order);
        if orphan {
            customer_no = count + 1 + r.below(count.max(1000) as usize) as u32;
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
            r.choose(PRODUCT_CATEGORIES)
        };
        let mut order_time = if via_erp {
            at_hours(r, day, 9, 18)
        } else {
            at_hours(r, day, 8, 24)
        };
        let updated_at = order_time + r.range(1, 20) * MINUTE_US;
        let landing = business_day(updated_at) + [0, 1, 2][r.weighted(&[0.6, 0.3, 0.1])];
        if r.chance(rates.future_order) {
            let future_day = landing + r.range(1, 15) as i32;
            order_time = at_hours(r, future_day, 9, 20);
        }
        let status = if r.chance(0.95) { "paid" } else { "cancelled" };
        let row = OrderRow {
            order_no: self.next_order,
            source,
            customer_no,
            order_time,
            amount,
            currency,
            product_category: category,
            status,
            updated_at,
        };
        self.next_order += 1;
        let last = world.cal.last;
        if landing > last {
            return; // not extracted yet
        }
        // The final version after dedup: latest updated_at, then latest landing day. Versions
        // differ only in status and updated_at.
        let mut newest = (updated_at, landing);
        if r.chance(rates.duplicate_order) {
            let again = landing + i32::from(r.chance(0.5));
            if let Some(bucket) = self.bucket(again) {
                bucket.orders.push(row.clone());
                newest = newest.max((updated_at, again));
            }
        }
        if status == "paid" && r.chance(rates.order_status_change) {
            let later = landing + r.range(1, 31) as i32;
            let mut changed = row.clone();
            changed.status = if r.chance(0.7) {
                "refunded"
            } else {
                "cancelled"
            };
            changed.updated_at = at_hours(r, later, 9, 20).max(updated_at + MINUTE_US);
            let version = (changed.updated_at, later);
            if let Some(bucket) = self.bucket(later) {
                bucket.orders.push(changed);
                newest = newest.max(version);
            }
        }
        if let Some(reason) = order_reason(newest.1, orphan, order_time, amount, currency) {
            self.invalid.push(InvalidRow {
                table: "ods_order",
                key: Id::Order.format(row.order_no),
                reason,
            });
        }
        if let Some(bucket) = self.bucket(landing) {
            bucket.orders.push(row);
        }
    }

    /// The `crm_id` an interaction or survey carries, possibly dirty.
    fn customer_ref(&self, c: &Customer, r: &mut Rng) -> (CustomerRef, Option<u32>) {
        let rates = &self.world.rates;
        let count = self.world.crm_count;
        if r.chance(rates.null_customer_ref) {
            (CustomerRef::Null, None)
        } else if r.chance(rates.unknown_customer_ref) {
            (
                CustomerRef::Unknown,
                Some(count + 1 + r.below(count.max(1000) as usize) as u32),
            )
        } else {
            (CustomerRef::Valid, c.crm.map(|x| x.no))
        }
    }

    fn interaction(&mut self, c: &Customer, r: &mut Rng, day: i32) {
        let channel = ["email", "call", "meeting", "chat", "ticket", "visit"]
            [r.weighted(&[0.38, 0.25, 0.07, 0.12, 0.12, 0.06])];
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
        let occurred_at = if matches!(channel, "chat" | "ticket") {
            at_hours(r, day, 8, 22)
        } else {
            at_hours(r, day, 9, 19)
        };
        let rep = if r.chance(0.85) {
            c.rep
        } else {
            r.below(self.world.reps as usize) as u32
        };
        let opened = if channel == "email" && direction == "out" {
            opened(r)
        } else {
            None
        };
        let text = (!r.chance(if channel == "call" { 0.3 } else { 0.12 })).then(|| content(r).1);
        let (reference, crm) = self.customer_ref(c, r);
        let landing = day + [0, 1, 2][r.weighted(&[0.7, 0.25, 0.05])];
        let row = InteractionRow {
            interaction_no: self.next_interaction,
            crm_no: crm,
            channel,
            direction,
            purpose,
            occurred_at,
            rep,
            opened,
            content: text,
        };
        self.next_interaction += 1;
        self.land_interaction(landing, row, reference);
    }

    fn land_interaction(&mut self, landing: i32, row: InteractionRow, reference: CustomerRef) {
        let Some(bucket) = self.bucket(landing) else {
            return;
        };
        let no = row.interaction_no;
        bucket.interactions.push(row);
        if let Some(reason) = reference_reason(reference, true) {
            self.invalid.push(InvalidRow {
                table: "ods_interaction",
                key: Id::Interaction.format(no),
                reason,
            });
        }
    }

    fn survey(&mut self, c: &Customer, r: &mut Rng, day: i32) {
        let rates = &self.world.rates;
        let nps = r.chance(1.2 / 2.7);
        let health = c.health * c.vitality(day).max(0.5);
        let (survey_type, value) = if nps {
            // Plan B's planted effect (0 otherwise, which leaves the sum bit-identical).
            let lift = if c.plan.is_some_and(|p| p.b_effect(day)) {
                PLAN_B_NPS_LIFT
            } else {
                0.0
            };
            (
                "NPS",
                (3.0 + 7.5 * health + lift + 1.6 * r.normal())
                    .round()
                    .clamp(0.0, 10.0) as i64,
            )
        } else {
            (
                "CSAT",
                (1.0 + 4.2 * health + 0.8 * r.normal())
                    .round()
                    .clamp(1.0, 5.0) as i64,
            )
        };
        let good = if nps { value >= 9 } else { value >= 4 };
        let bad = if nps { value <= 6 } else { value <= 2 };
        let pad = if r.chance(rates.padded_score) {
            1 + r.below(3) as u8
        } else {
            0
        };
        let mut score = Score::Value {
            value: value as u8,
            pad,
        };
        let mut mood = if good {
            Some(true)
        } else if bad {
            Some(false)
        } else {
            None
        };
        if r.chance(rates.invalid_score) {
            let typos: &[&str] = if nps {
                &["", "  ", "N/A", "11", "-1", "4.0", "8.5", "十"]
            } else {
                &["", "N/A", "0", "6", "-1", "4.0", " 9", "3.5"]
            };
            score = Score::Typed(r.choose(typos));
            mood = None;
        }
        let mut text = String::new();
        score.write(&mut text);
        let valid = score_is_valid(survey_type, &text);
        let (reference, crm) = self.customer_ref(c, r);
        let row = SurveyRow {
            response_no: self.next_survey,
            crm_no: crm,
            survey_type,
            score,
            submitted_at: at_hours(r, day, 8, 23),
            comment: comment(r, mood),
        };
        self.next_survey += 1;
        let landing = day + i32::from(r.chance(0.2));
        let Some(bucket) = self.bucket(landing) else {
            return;
        };
        let no = row.response_no;
        bucket.surveys.push(row);
        if let Some(reason) = reference_reason(reference, valid) {
            self.invalid.push(InvalidRow {
                table: "ods_survey",
                key: Id::Response.format(no),
                reason,
            });
        }
    }

    fn signal(&mut self, c: &Customer, r: &mut Rng, day: i32, churning: bool) {
        let Some(crm) = c.crm else { return };
        let weights = if churning {
            [0.45, 0.35, 0.2]
        } else {
            [0.2, 0.5, 0.3]
        };
        let row = SignalRow {
            signal_no: self.next_signal,
            crm_no: crm.no,
            competitor: r.choose(COMPETITORS),
            signal_type: ["trial", "quote", "visit"][r.weighted(&weights)],
            detected_at: at_hours(r, day, 9, 20),
        };
        self.next_signal += 1;
        if let Some(bucket) = self.bucket(day + i32::from(r.chance(0.5))) {
            bucket.signals.push(row);
        }
    }

    fn usage(&mut self, sub: Subscriber, day: i32) {
        if day < sub.from || day > sub.to {
            return;
        }
        let world = self.world;
        let mut r = rng(key(
            world.seed,
            Stream::Usage,
            u64::from(sub.customer),
            day as u64,
        ));
        if !r.chance(if world.cal.is_weekend(day) {
            0.35
        } else {
            0.97
        }) {
            return;
        }
        let dip = (sub.dip_start..sub.dip_start.saturating_add(40)).contains(&day);
        let level =
            vitality(sub.churn_day, day) * if dip { 0.45 } else { 1.0 } * (0.55 + 0.4 * r.f());
        let active_users = (f64::from(sub.seats) * level).round() as i32;
        if active_users <= 0 {
            return;
        }
        let events = i64::from(active_users) * r.range(15, 61);
        if let Some(bucket) = self.bucket(day + 1) {
            bucket.usage.push(UsageRow {
                crm_no: sub.crm_no,
                usage_date: day,
                active_users,
                events,
            });
        }
    }

    fn lead(&mut self, i: u32) {
        let Some(events) = lead(self.world, i, self.next_lead) else {
            return;
        };
        self.next_lead += 1;
        if let Some(bucket) = self.bucket(events.lead_landing) {
            bucket.leads.push(events.lead);
        }
        for (landing, mut row) in events.followups {
            row.interaction_no = self.next_interaction;
            self.next_interaction += 1;
            self.land_interaction(landing, row, CustomerRef::Valid);
        }
    }
}
